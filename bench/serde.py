"""Avro encode/decode of a ShipmentEvent: fastavro (the hot path) against the reference `avro`
library, which ParkLink keeps for parsing schemas and compatibility checks."""

from __future__ import annotations

import io
import json
from collections.abc import Callable

import avro.io
import avro.schema
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from bench.harness import BenchContext, Row, lib_version, rate
from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.schemas import schema_dict

BATCH = 1000

SAMPLE = ShipmentEvent.model_validate(
    {
        "event_id": "9d7a1c2e-0b1f-4a5e-8c3d-2e1f0a9b8c7d",
        "event_time": "2026-11-23T06:00:00Z",
        "source_park": "KZ-KHR-ICBC",
        "shipment_id": "SH-000123",
        "order_ids": ["PO-1001", "PO-1002"],
        "status": "AT_BORDER",
        "mode": "RAIL",
        "origin_park": "CN-QD-SCODA",
        "destination_park": "KZ-ALA-IPA",
        "corridor": "QD-KHR-ALA-RAIL",
        "checkpoint": {"name": "Khorgos/Altynkol", "lat": 44.21, "lon": 80.41},
        "planned_arrival": "2026-11-30T00:00:00Z",
        "estimated_arrival": "2026-12-01T12:00:00Z",
    }
)


def run(ctx: BenchContext) -> list[Row]:
    record = SAMPLE.to_avro()
    fast_schema = parse_schema(schema_dict("ShipmentEvent"))
    ref_schema = avro.schema.parse(json.dumps(schema_dict("ShipmentEvent")))
    ref_writer = avro.io.DatumWriter(ref_schema)
    ref_reader = avro.io.DatumReader(ref_schema)

    def fast_encode() -> bytes:
        buf = io.BytesIO()
        schemaless_writer(buf, fast_schema, record)
        return buf.getvalue()

    def ref_encode() -> bytes:
        buf = io.BytesIO()
        ref_writer.write(record, avro.io.BinaryEncoder(buf))
        return buf.getvalue()

    body = fast_encode()
    assert body == ref_encode(), "fastavro and avro disagree on the bytes"

    def fast_decode() -> object:
        return schemaless_reader(io.BytesIO(body), fast_schema, fast_schema)

    def ref_decode() -> object:
        return ref_reader.read(avro.io.BinaryDecoder(io.BytesIO(body)))

    def loop(fn: Callable[[], object]) -> Callable[[], None]:
        def many() -> None:
            for _ in range(BATCH):
                fn()

        return many

    fast_v, ref_v = f"fastavro {lib_version('fastavro')}", f"avro {lib_version('avro')}"
    return [
        Row(
            "serde",
            "encode ShipmentEvent, fastavro",
            rate(BATCH, loop(fast_encode)),
            "rec/s",
            fast_v,
        ),
        Row("serde", "encode ShipmentEvent, avro", rate(BATCH, loop(ref_encode)), "rec/s", ref_v),
        Row(
            "serde",
            "decode ShipmentEvent, fastavro",
            rate(BATCH, loop(fast_decode)),
            "rec/s",
            fast_v,
        ),
        Row("serde", "decode ShipmentEvent, avro", rate(BATCH, loop(ref_decode)), "rec/s", ref_v),
        Row("serde", "ShipmentEvent Avro body size", float(len(body)), "bytes"),
    ]
