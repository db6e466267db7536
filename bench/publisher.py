"""Publisher SDK throughput: validate (pydantic) + encode (Avro, Confluent framing) + produce
(acks=all, idempotent) of order events, next to raw kafka-python sending the same pre-encoded
values to the same broker in the same run. Goal: SDK / raw >= 0.6.

On a machine shared with other work one lane can be unlucky, so the lanes take turns ROUNDS
times, in alternating order (raw first, then the SDK first, ...), and each side keeps its best
rate and its lowest CPU per event. Before each lane the garbage of the one before is collected,
so that neither pays for the other's. CPU is the process's, every thread (the producer's I/O
thread too), from the kernel's per-process clock."""

from __future__ import annotations

import gc
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bench.harness import BenchContext, Row, start_registry
from parklink.eventkit import bus
from parklink.eventkit.bus import ClientSecurity
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import now_utc
from parklink.eventkit.encoding import EventEncoder
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.topic_admin import apply_catalog
from parklink.eventkit.validation import validate_batch
from parklink.publisher import Publisher

EVENTS = 60_000
CHUNK = 500
ROUNDS = 3
PARK = "CN-QD-SCODA"


def order_docs(count: int, park: str = PARK) -> list[dict[str, Any]]:
    """Confirmations by the supplier `park`, happening now (within the time bounds)."""
    now = now_utc()
    return [
        {
            "event_id": str(uuid.uuid4()),
            "event_time": now.isoformat(),
            "source_park": park,
            "order_id": f"PO-{i}",
            "status": "CONFIRMED",
            "buyer_park": "KZ-ALA-IPA",
            "supplier_park": park,
            "sku": "TRK-CAB-7",
            "category": "8704",
            "quantity": 120 + i % 50,
            "unit": "pcs",
            "due_date": (now + timedelta(days=16)).date().isoformat(),
            "value": {"amount": 1_500_000.0, "currency": "CNY"},
        }
        for i in range(count)
    ]


@dataclass(frozen=True)
class Measured:
    rate: float
    """events/s, wall clock"""
    cpu_us: float
    """CPU µs per event of this process, every thread (the producer's I/O thread too)"""


def _measure(count: int, work: Callable[[], None]) -> Measured:
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return Measured(count / (time.perf_counter() - wall), (time.process_time() - cpu) / count * 1e6)


def _raw(ctx: BenchContext, topic: str, records: list[tuple[bytes, bytes]]) -> Measured:
    producer = bus.producer(ctx.servers)

    def send() -> None:
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()

    try:
        for key, value in records[:2000]:  # warm up connections and metadata
            producer.send(topic, key=key, value=value)
        producer.flush()
        return _measure(len(records), send)
    finally:
        producer.close()


def _sdk(
    ctx: BenchContext,
    url: str,
    prefix: str,
    docs: list[dict[str, Any]],
    security: ClientSecurity | None = None,
) -> Measured:
    with Publisher(ctx.servers, url, PARK, prefix, security=security) as pub:
        pub.publish_many(docs[:2000], kind="orders")
        pub.flush()
        sent = 0

        def publish() -> None:
            nonlocal sent
            for i in range(0, len(docs), CHUNK):
                pub.publish_many(docs[i : i + CHUNK], kind="orders")
            sent = pub.flush()

        measured = _measure(len(docs), publish)
    if sent != len(docs):
        raise RuntimeError(f"only {sent} of {len(docs)} events acknowledged")
    return measured


def sdk_rate(
    ctx: BenchContext,
    url: str,
    prefix: str,
    docs: list[dict[str, Any]],
    security: ClientSecurity | None = None,
) -> float:
    """Events/s of the SDK publishing `docs` (dicts, as a park's software has them) in chunks
    of CHUNK, until every one is acknowledged."""
    return _sdk(ctx, url, prefix, docs, security).rate


def run(ctx: BenchContext) -> list[Row]:
    url = start_registry(ctx)
    prefix = f"bench.pub{uuid.uuid4().hex[:6]}."
    apply_catalog(load_catalog(), ctx.servers, prefix)
    docs = order_docs(EVENTS)
    registry = RegistryClient(url)
    encoder = EventEncoder(registry, prefix)
    records = encoder.encode_many("orders", validate_batch("orders", docs))
    registry.close()
    size = sum(len(v) for _, v in records) / len(records)
    # Take turns in alternating order and keep each side's best, so that neither side always
    # runs first, or on a warmer (or busier) machine.
    raws: list[Measured] = []
    sdks: list[Measured] = []
    topic = encoder.topic("orders")
    for turn in range(ROUNDS):
        for lane in ("raw", "sdk") if turn % 2 == 0 else ("sdk", "raw"):
            if lane == "raw":
                raws.append(_raw(ctx, topic, records))
            else:
                sdks.append(_sdk(ctx, url, prefix, docs))
    raw, sdk = max(r.rate for r in raws), max(s.rate for s in sdks)
    raw_cpu, sdk_cpu = min(r.cpu_us for r in raws), min(s.cpu_us for s in sdks)
    note = (
        f"{EVENTS:,} OrderEvents, ~{size:.0f} B values, acks=all, 6 partitions, "
        f"best of {ROUNDS}, alternating"
    )
    return [
        Row("publisher", "raw kafka-python (pre-encoded)", raw, "events/s", note),
        Row("publisher", "SDK validate+encode+produce", sdk, "events/s", note),
        Row("publisher", "SDK / raw", sdk / raw, "ratio", "goal >= 0.6"),
        Row("publisher", "raw kafka-python CPU", raw_cpu, "µs/event", "this process, all threads"),
        Row("publisher", "SDK CPU", sdk_cpu, "µs/event", "this process, all threads"),
        Row("publisher", "SDK / raw, by CPU", raw_cpu / sdk_cpu, "ratio", "goal >= 0.6"),
    ]
