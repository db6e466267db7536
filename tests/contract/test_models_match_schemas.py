"""Models and `schemas/*.avsc` cannot drift: every model round-trips through its schema with
both fastavro (the hot path) and the reference `avro` library, and field sets match."""

from __future__ import annotations

import io
import json

import avro.io
import avro.schema
import factories
import pytest
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from parklink.eventkit.contracts import RECORD_MODELS, Record
from parklink.eventkit.schemas import schema_dict, schema_names

SAMPLES: dict[str, list[Record]] = {
    "OrderEvent": [factories.order(), factories.order(value=None, status="CANCELLED")],
    "ShipmentEvent": [
        factories.shipment(),
        factories.shipment(checkpoint=None, estimated_arrival=None),
    ],
    "CapacityEvent": [
        factories.capacity(),
        factories.capacity(maximum_capacity=None, reason="fire"),
    ],
    "DisruptionAlert": [
        factories.alert(),
        factories.alert(corridor=None, resolved_at=factories.T0),
    ],
}


def test_every_schema_has_a_model_and_samples() -> None:
    assert set(schema_names()) == set(RECORD_MODELS) == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_field_names_match(name: str) -> None:
    avsc_fields = [f["name"] for f in schema_dict(name)["fields"]]
    model_fields = list(RECORD_MODELS[name].model_fields)
    assert avsc_fields == model_fields


@pytest.mark.parametrize("name", sorted(RECORD_MODELS))
def test_every_field_is_documented(name: str) -> None:
    schema = schema_dict(name)
    assert schema.get("namespace", "").startswith("org.parklink.")
    assert schema.get("doc")
    undocumented = [f["name"] for f in schema["fields"] if not f.get("doc")]
    assert undocumented == []


def _cases() -> list[tuple[str, int]]:
    return [(name, i) for name, samples in SAMPLES.items() for i in range(len(samples))]


@pytest.mark.parametrize(("name", "index"), _cases())
def test_round_trip_fastavro(name: str, index: int) -> None:
    model = SAMPLES[name][index]
    parsed = parse_schema(schema_dict(name))
    buf = io.BytesIO()
    schemaless_writer(buf, parsed, model.to_avro())
    buf.seek(0)
    back = schemaless_reader(buf, parsed, parsed)
    assert RECORD_MODELS[name].model_validate(back) == model


@pytest.mark.parametrize(("name", "index"), _cases())
def test_round_trip_reference_avro(name: str, index: int) -> None:
    model = SAMPLES[name][index]
    schema = avro.schema.parse(json.dumps(schema_dict(name)))
    buf = io.BytesIO()
    avro.io.DatumWriter(schema).write(model.to_avro(), avro.io.BinaryEncoder(buf))
    buf.seek(0)
    back = avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(buf))
    assert RECORD_MODELS[name].model_validate(back) == model


@pytest.mark.parametrize(("name", "index"), _cases())
def test_both_libraries_write_the_same_bytes(name: str, index: int) -> None:
    model = SAMPLES[name][index]
    fast = io.BytesIO()
    schemaless_writer(fast, parse_schema(schema_dict(name)), model.to_avro())
    ref = io.BytesIO()
    schema = avro.schema.parse(json.dumps(schema_dict(name)))
    avro.io.DatumWriter(schema).write(model.to_avro(), avro.io.BinaryEncoder(ref))
    assert fast.getvalue() == ref.getvalue()
