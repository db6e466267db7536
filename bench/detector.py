"""The detector on the local broker: one worker's steady-state rate over a backlog of park
events, and publish -> alert latency while parks publish at 5k events/s."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.harness import BenchContext, Row, lib_version
from bench.registry_serde import _free_port, _start_registry
from parklink.eventkit import bus
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import (
    CapacityEvent,
    DisruptionAlert,
    OrderEvent,
    ParkEvent,
    ShipmentEvent,
)
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, Serializer
from parklink.eventkit.topic_admin import apply_catalog

BACKLOG = 60_000
RATES = (1_000, 5_000)
RATE_SECONDS = 10
PARKS = ["CN-QD-SCODA", "KZ-KHR-ICBC", "KZ-ALA-IPA", "UZ-TAS-NAVOI", "RU-NSK-TECH"]
BASE = datetime(2026, 11, 23, tzinfo=UTC)
CATALOG = load_catalog()


def _event(i: int) -> ParkEvent:
    """A mix like the simulator's: shipment updates, order updates, capacity plans."""
    park = PARKS[i % len(PARKS)]
    when = BASE + timedelta(seconds=i)
    common: dict[str, Any] = {"event_id": str(uuid.uuid4()), "event_time": when}
    kind = i % 10
    if kind < 5:
        planned = BASE + timedelta(days=7)
        return ShipmentEvent(
            **common,
            source_park=park,
            shipment_id=f"SH-{i % 3000}",
            order_ids=[f"PO-{i % 3000}"],
            status="IN_TRANSIT",
            mode="RAIL",
            origin_park=park,
            destination_park=PARKS[(i + 1) % len(PARKS)],
            corridor=f"C{i % 20}-RAIL",
            planned_arrival=planned,
            estimated_arrival=planned + timedelta(hours=2),
        )
    if kind < 9:
        return OrderEvent(
            **common,
            source_park=PARKS[(i + 2) % len(PARKS)],
            order_id=f"PO-{i % 5000}",
            status="CONFIRMED",
            buyer_park=PARKS[(i + 2) % len(PARKS)],
            supplier_park=park,
            sku="SKU-1",
            category=f"{8700 + i % 8}",
            unit="pcs",
            quantity=float(1 + i % 7),
            due_date=(BASE + timedelta(days=14 + i % 28)).date(),
        )
    week = (BASE + timedelta(weeks=2 + i % 4)).date()
    return CapacityEvent(
        **common,
        source_park=park,
        park_id=park,
        category=f"{8700 + i % 8}",
        week_start=week - timedelta(days=week.weekday()),
        actual_capacity=float(10_000 + i % 50),
        maximum_capacity=12_000.0,
        unit="pcs",
    )


class _Publisher:
    def __init__(self, ctx: BenchContext, registry: RegistryClient, prefix: str) -> None:
        self.prefix = prefix
        self.producer = bus.producer(ctx.servers, linger_ms=5)
        self.serializers = {
            model: Serializer(registry, model, CATALOG[role].subject(prefix))
            for role, model in (
                ("orders", OrderEvent),
                ("shipments", ShipmentEvent),
                ("capacity", CapacityEvent),
            )
        }
        self.topics = {
            OrderEvent: CATALOG["orders"].topic(prefix),
            ShipmentEvent: CATALOG["shipments"].topic(prefix),
            CapacityEvent: CATALOG["capacity"].topic(prefix),
        }

    def send(self, event: ParkEvent) -> None:
        model = type(event)
        self.producer.send(
            self.topics[model],
            key=event.key().encode(),
            value=self.serializers[model].serialize(event),  # type: ignore[arg-type]
        )


def _start_detector(ctx: BenchContext, registry_url: str, prefix: str) -> str:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PARKLINK_KAFKA_BOOTSTRAP": ctx.bootstrap,
        "PARKLINK_TOPIC_PREFIX": prefix,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_STATE_DIR": str(ctx.workdir),
        "PARKLINK_DETECTOR_GROUP": f"bench-{uuid.uuid4().hex[:6]}",
        "PARKLINK_DETECTOR_PORT": str(port),
        "PARKLINK_LOG_LEVEL": "WARNING",
    }
    log = (ctx.workdir / "detector-bench.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "parklink.detector"], env=env, stdout=log, stderr=subprocess.STDOUT
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    ctx.on_close(stop)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"detector exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("detector not ready after 90s")


def _events_in(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("parklink_detector_events_in_total{")
    )


def _throughput(url: str, expected: float) -> float:
    """Events/s between the first 10 % and the last of the backlog being read."""
    start_at = start_n = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        n = _events_in(url)
        now = time.perf_counter()
        if start_at is None and n >= expected * 0.1:
            start_at, start_n = now, n
        if n >= expected and start_at is not None and start_n is not None:
            return (n - start_n) / (now - start_at)
        time.sleep(0.1)
    raise RuntimeError("the detector did not read the backlog within 10 minutes")


def _latency(
    ctx: BenchContext, pub: _Publisher, registry: RegistryClient, rate: int
) -> tuple[list[float], int]:
    """Publish at `rate` events/s; every 100th event is a new shipment 30 h late. Latency is the
    alert record's broker time minus the publish time of the event that caused it."""
    sent: dict[str, float] = {}
    alerts_topic = CATALOG["alerts"].topic(pub.prefix)
    reader = bus.consumer(ctx.servers, alerts_topic, group_id=None, auto_offset_reset="latest")
    reader.poll(timeout_ms=1000)  # join and take the end offsets before publishing
    tick = 0.05
    per_tick = int(rate * tick)
    start = time.perf_counter()
    i = 0
    planned = BASE + timedelta(days=7)
    while time.perf_counter() - start < RATE_SECONDS:
        for _ in range(per_tick):
            i += 1
            if i % 100 == 0:
                event: ParkEvent = ShipmentEvent(
                    event_id=str(uuid.uuid4()),
                    event_time=BASE,
                    source_park="KZ-KHR-ICBC",
                    shipment_id=f"LAT-{i}",
                    order_ids=[f"PO-L{i}"],
                    status="AT_BORDER",
                    mode="RAIL",
                    origin_park="CN-QD-SCODA",
                    destination_park="KZ-ALA-IPA",
                    corridor=f"LAT{i}-RAIL",
                    planned_arrival=planned,
                    estimated_arrival=planned + timedelta(hours=30),
                )
                sent[event.event_id] = time.time()
            else:
                event = _event(BACKLOG + i)
            pub.send(event)
        pub.producer.flush()
        next_at = start + tick * (i // per_tick)
        time.sleep(max(0.0, next_at - time.perf_counter()))
    des = Deserializer(registry, DisruptionAlert)
    latencies: list[float] = []
    expected = len(sent)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sent:
        for batch in reader.poll(timeout_ms=500).values():
            for record in batch:
                alert = des.deserialize(record.value)
                for eid in alert.evidence:
                    if eid in sent:
                        latencies.append(record.timestamp / 1000 - sent.pop(eid))
    reader.close()
    return latencies, expected


def run(ctx: BenchContext) -> list[Row]:
    prefix = f"bdet{uuid.uuid4().hex[:6]}."
    apply_catalog(CATALOG, ctx.servers, prefix)
    registry_url = _start_registry(ctx)
    registry = RegistryClient(registry_url)
    pub = _Publisher(ctx, registry, prefix)
    for i in range(BACKLOG):
        pub.send(_event(i))
    pub.producer.flush()
    url = _start_detector(ctx, registry_url, prefix)
    rate = _throughput(url, BACKLOG)
    time.sleep(5)  # let the downstream stages drain the backlog before measuring latency
    faust_v = lib_version("faust-streaming")
    rows = [
        Row(
            "detector",
            "events/s, one worker (backlog)",
            rate,
            "ev/s",
            f"goal >= 15k; faust-streaming {faust_v}, 1 process",
        )
    ]
    for target in RATES:
        latencies, expected = _latency(ctx, pub, registry, target)
        latencies.sort()
        note = f"{len(latencies)}/{expected} alerts within 60 s"
        if not latencies:
            rows.append(Row("detector", f"publish->alert @ {target}/s", float("nan"), "ms", note))
            continue
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        rows += [
            Row(
                "detector",
                f"publish->alert p50 @ {target}/s",
                statistics.median(latencies) * 1000,
                "ms",
                note,
            ),
            Row(
                "detector",
                f"publish->alert p99 @ {target}/s",
                p99 * 1000,
                "ms",
                "goal <= 500 ms at 5000/s",
            ),
        ]
        time.sleep(10)  # let a backlog from this rate drain before the next
    pub.producer.close()
    registry.close()
    return rows
