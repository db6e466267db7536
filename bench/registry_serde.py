"""Framed encode/decode of a ShipmentEvent through eventkit's Serializer/Deserializer (model ->
Confluent wire format -> validated model), with ids from a real `parklink registry` on the
bench's Kafka. The serde asks the registry once per schema and caches the id, so the figures
are the per-record cost producers and consumers pay."""

from __future__ import annotations

from bench.harness import BenchContext, Row, rate, start_registry
from bench.serde import SAMPLE
from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, Serializer, split_frame

BATCH = 1000
TARGET_ENCODE = 40_000
TARGET_DECODE = 30_000


def run(ctx: BenchContext) -> list[Row]:
    url = start_registry(ctx)
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
    note = f"{len(framed)} B framed, schema id {split_frame(framed)[0]}"
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
