"""The detector's decoder (`codec.EventDecoder`: wire values, the contract's checks, a plain
record) against the contract model (`Deserializer.deserialize`, then `events.of_model`):
for every record a writer can put on a park topic, both give the same record or refuse it
with the same error and message. Generated from the sample events with fields replaced by
edge values of their Avro type (times and dates at the contract's years, texts at their
bounds and with characters the contract refuses, numbers at their bounds, NaN and infinities)."""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime
from typing import Any

import factories
import pytest
from fastavro import schemaless_writer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.publisher.fakes import FakeRegistry

from parklink.detector.codec import EventDecoder
from parklink.detector.events import of_model
from parklink.eventkit.contracts import FIRST_YEAR, LAST_YEAR, PARK_EVENT_MODELS
from parklink.eventkit.schemas import schema_text, values_schema
from parklink.eventkit.serde import HEADER, MAGIC_BYTE, Deserializer, SerdeError
from parklink.eventkit.validation import contract_values

SAMPLES = {
    "orders": factories.order(),
    "shipments": factories.shipment(),
    "capacity": factories.capacity(),
}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIRST_MS = int((datetime(FIRST_YEAR, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1000)
END_MS = int((datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds() * 1000)
FIRST_DAY = (date(FIRST_YEAR, 1, 1) - date(1970, 1, 1)).days
END_DAY = (date(LAST_YEAR + 1, 1, 1) - date(1970, 1, 1)).days
MONDAY = (date(2026, 12, 7) - date(1970, 1, 1)).days

STAMPS = [FIRST_MS - 1, FIRST_MS, END_MS - 1, END_MS, 0, -1, 1_795_000_000_123, 2**62]
DAYS = [FIRST_DAY - 1, FIRST_DAY, END_DAY - 1, END_DAY, 0, -1, MONDAY, MONDAY + 2, 2**30]
NUMBERS = [0.0, -0.0, -1.0, 1e-4, 1e-3, 120.0, 1e9, 1e9 + 1, 1e15, 1e16, 90.0, -180.0, 180.5]
NUMBERS += [math.nan, math.inf, -math.inf]
TEXTS = ["PO-1001", "SH-1", "pcs", "m³", "x" * 16, "x" * 17, "x" * 128, "x" * 129, "x" * 200]
TEXTS += ["x" * 201, "x" * 501, "a|b", "a b", " ", "", "tab\there", "nul\x00", "del\x7f"]
TEXTS += ["c1\x85", "Кабина", "8704", "870", "CNY", "cny", "QD-KHR-ALA-RAIL", "QD"]
TEXTS += ["Q" * 30 + "-" + "R" * 34, "KZ-ALA-IPA", "CN-QD-SCODA", "UZ-TAS-NAVOI", "kz-ala-ipa"]
TEXTS += [
    "KZ-ALA-IPA\n",
    "0F8C5F2E-3B8A-4D55-9A43-6D1C2B7F9E10",
    "0f8c5f2e3b8a4d559a436d1c2b7f9e10",
]
TEXTS += ["0f8c5f2e-3b8a-4d55-9a43-6d1c2b7f9e10"]
ENUMS = {
    "status": ["PLACED", "CONFIRMED", "AMENDED", "CANCELLED", "FULFILLED", "BOOKED", "ARRIVED"],
    "mode": ["RAIL", "ROAD", "SEA", "AIR", "MULTIMODAL"],
}


def _values(kind: str) -> dict[str, Any]:
    """The sample event as the wire holds it."""
    record = of_model(SAMPLES[kind])._asdict()
    for name in ("due_date", "week_start"):
        if name in record:
            record[name] = (record[name] - date(1970, 1, 1)).days
    if "order_ids" in record:
        record["order_ids"] = list(record["order_ids"])
    return record


def _pool(kind: str, name: str) -> list[Any]:
    """Edge values a writer can put in the field (of its Avro type)."""
    if name in ("event_time", "planned_arrival"):
        return STAMPS
    if name == "estimated_arrival":
        return [None, *STAMPS]
    if name in ("due_date", "week_start"):
        return DAYS
    if name in ("quantity", "actual_capacity"):
        return NUMBERS
    if name == "maximum_capacity":
        return [None, *NUMBERS]
    if name == "reason":
        return [None, *TEXTS]
    if name in ENUMS:
        symbols = values_schema(PARK_EVENT_MODELS[kind].schema_name)
        allowed = next(f["type"]["symbols"] for f in symbols["fields"] if f["name"] == name)
        return [s for s in ENUMS[name] if s in allowed]
    if name == "order_ids":
        return [[], ["PO-1"], ["PO-1", "PO 2"], ["x" * 129], ["P"] * 1001]
    if name == "value":
        return [None] + [{"amount": n, "currency": c} for n in NUMBERS[:8] for c in ("CNY", "yu")]
    if name == "checkpoint":
        return [None] + [
            {"name": t, "lat": lat, "lon": lon}
            for t in ("Khorgos", "", "x" * 201, "a\nb")
            for lat, lon in ((44.2, 80.4), (91.0, 0.0), (-90.0, 180.0), (math.nan, 0.0))
        ]
    return TEXTS


def _framed(kind: str, record: dict[str, Any], registry: FakeRegistry) -> bytes:
    name = PARK_EVENT_MODELS[kind].schema_name
    schema_id = registry.register(f"{kind}-value", schema_text(name))
    buf = io.BytesIO()
    schemaless_writer(buf, values_schema(name), record)
    return HEADER.pack(MAGIC_BYTE, schema_id) + buf.getvalue()


def _same(kind: str, data: bytes, registry: FakeRegistry) -> None:
    fast = EventDecoder(registry, kind)
    model = Deserializer(registry, PARK_EVENT_MODELS[kind])
    try:
        expected: Any = of_model(model.deserialize(data, topic="t", partition=1, offset=2))
    except SerdeError as exc:
        expected = exc
    try:
        got: Any = fast.deserialize(data, topic="t", partition=1, offset=2)
    except SerdeError as exc:
        got = exc
    if isinstance(expected, SerdeError):
        assert isinstance(got, SerdeError), f"the decoder took what the model refused: {got}"
        assert (type(got), got.reason, str(got)) == (type(expected), expected.reason, str(expected))
    else:
        assert got == expected


def _changes(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    names = list(_values(kind))
    pairs = st.sampled_from(names).flatmap(
        lambda n: st.tuples(st.just(n), st.sampled_from(_pool(kind, n)))
    )
    return st.lists(pairs, max_size=3).map(dict)


@pytest.mark.parametrize("kind", list(SAMPLES))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_decoder_gives_what_the_model_gives_or_refuses_alike(
    kind: str, data: st.DataObject
) -> None:
    registry = FakeRegistry()
    record = {**_values(kind), **data.draw(_changes(kind))}
    _same(kind, _framed(kind, record, registry), registry)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_every_field_with_every_edge_value(kind: str) -> None:
    registry = FakeRegistry()
    for name in _values(kind):
        for value in _pool(kind, name):
            _same(kind, _framed(kind, {**_values(kind), name: value}, registry), registry)


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_a_sample_takes_the_plain_lane_and_a_doubtful_one_the_model(kind: str) -> None:
    """The samples pass the contract's checks on their wire values (so the fast lane is what
    the property above compares), a text the checks leave to the model does not, and both
    decode to the model's record."""
    assert contract_values(kind, _values(kind)) is not None
    doubtful = {**_values(kind), "source_park": "KZ-ALA-IPA\u00a0"}
    assert contract_values(kind, doubtful) is None
    registry = FakeRegistry()
    record = EventDecoder(registry, kind).deserialize(_framed(kind, _values(kind), registry))
    assert record == of_model(SAMPLES[kind])


def test_bad_frames_and_bodies_are_refused_with_the_models_reasons() -> None:
    registry = FakeRegistry()
    good = _framed("shipments", _values("shipments"), registry)
    for data in (None, b"", b"\x01" + good[1:], good[:5], good[:-3], good + b"\x00"):
        _same("shipments", data, registry)  # type: ignore[arg-type]
