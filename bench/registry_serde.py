"""Framed encode/decode of a ShipmentEvent through eventkit's Serializer/Deserializer (model ->
Confluent wire format -> validated model), with ids from a real `parklink registry` on the
bench's Kafka. The serde asks the registry once per schema and caches the id, so the figures
are the per-record cost producers and consumers pay."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid

import httpx

from bench.harness import BenchContext, Row, rate
from bench.serde import SAMPLE
from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, Serializer

BATCH = 1000
TARGET_ENCODE = 40_000
TARGET_DECODE = 30_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_registry(ctx: BenchContext) -> str:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PARKLINK_KAFKA_BOOTSTRAP": ctx.bootstrap,
        "PARKLINK_REGISTRY_HOST": "127.0.0.1",
        "PARKLINK_REGISTRY_PORT": str(port),
        "PARKLINK_REGISTRY_TOPIC": f"_schemas.bench.{uuid.uuid4().hex[:8]}",
        "PARKLINK_STATE_DIR": str(ctx.workdir),
    }
    log = (ctx.workdir / "registry-bench.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "parklink.registry"], env=env, stdout=log, stderr=subprocess.STDOUT
    )

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()

    ctx.on_close(stop)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"registry exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("registry not ready after 60s")


def run(ctx: BenchContext) -> list[Row]:
    url = _start_registry(ctx)
    client = RegistryClient(url)
    ctx.on_close(client.close)
    serializer = Serializer(client, ShipmentEvent, "bench.shipments.v1-value")
    deserializer: Deserializer[ShipmentEvent] = Deserializer(client, ShipmentEvent)
    framed = serializer.serialize(SAMPLE)
    assert deserializer.deserialize(framed) == SAMPLE, "framed round trip changed the record"

    def encode() -> None:
        for _ in range(BATCH):
            serializer.serialize(SAMPLE)

    def decode() -> None:
        for _ in range(BATCH):
            deserializer.deserialize(framed)

    encoded = rate(BATCH, encode, min_seconds=2.0)
    decoded = rate(BATCH, decode, min_seconds=2.0)
    note = f"{len(framed)} B framed, schema id {serializer.schema_id}"
    return [
        Row(
            "registry_serde",
            "framed encode (model -> bytes)",
            encoded,
            "records/s",
            f"target >= {TARGET_ENCODE:,}; {note}",
        ),
        Row(
            "registry_serde",
            "framed decode (bytes -> model)",
            decoded,
            "records/s",
            f"target >= {TARGET_DECODE:,}; includes model validation",
        ),
    ]
