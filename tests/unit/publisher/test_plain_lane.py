"""The SDK's fast lane (`admit_plain` + `encode_plain`) against the full path (`admit` +
`encode_many`): whatever the fast lane takes, the full path takes too, with the same keys and
the same bytes; whatever it leaves, the full path judges. Generated from the sample events
with fields replaced by edge values, missing or added."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import factories
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unit.publisher.fakes import FakeRegistry

from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.encoding import EventEncoder
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.validation import admit, admit_plain

# A clock with microseconds, so that the millisecond rounding at the bounds is tried too.
NOW = datetime(2026, 11, 23, 9, 0, 0, 250_500, tzinfo=UTC)
BOUNDS = TimeBounds()
SAMPLES = {
    "orders": factories.ORDER,
    "shipments": factories.SHIPMENT,
    "capacity": factories.CAPACITY,
}
PARKS = {"orders": "KZ-ALA-IPA", "shipments": "KZ-ALA-IPA", "capacity": "CN-QD-SCODA"}


def _stamp(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


TIMES: list[Any] = [
    "2026-11-23T08:00:00Z",
    "2026-11-23T16:00:00.123456+08:00",
    "2026-11-23T08:00:00.5Z",
    "2026-11-23T08:00:00.1234567Z",
    "2026-11-23 08:00:00Z",
    "2026-11-23T08:00:00",
    "2026-11-23T08:00Z",
    "20261123T080000Z",
    "2026-11-23T08:00:00+0800",
    "2026-11-23T08:00:00+23:59",
    "2026-11-23T08:00:00-24:00",
    "2026-11-23t08:00:00z",
    "2026-02-30T08:00:00Z",
    "2026-11-23T24:00:00Z",
    "2026-11-23T23:59:60Z",
    "2000-01-01T01:00:00+02:00",
    "2099-12-31T23:00:00-02:00",
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "\uff12\uff10\uff12\uff16-11-23T08:00:00Z",  # full-width digits
    _stamp(NOW + BOUNDS.skew),
    _stamp(NOW + BOUNDS.skew + timedelta(milliseconds=1)),
    _stamp(NOW - BOUNDS.horizon),
    _stamp(NOW - BOUNDS.horizon - timedelta(microseconds=600)),
    _stamp(NOW - BOUNDS.horizon + timedelta(microseconds=400)),
    1_795_000_000_000,
    1_795_000_000.5,
    None,
    "",
]
DAYS: list[Any] = [
    "2026-12-07",
    "2026-12-09",
    "2026-12-08",
    "2026-12-07T00:00:00",
    "20261207",
    "2026-W50-1",
    "1999-12-27",
    "2100-01-04",
    "2026-13-01",
    1_796_000_000,
    None,
]
NUMBERS: list[Any] = [
    0,
    -0.0,
    -1,
    1e-4,
    1e-3,
    120,
    1.5,
    1e9,
    1e9 + 1,
    10**9,
    10**30,
    1e15,
    1e16,
    90,
    -180.0,
    180.5,
    math.nan,
    math.inf,
    -math.inf,
    True,
    "120",
    None,
]
TEXTS: list[Any] = [
    "PO-1001",
    "SH-1",
    "TRK-CAB-7",
    "pcs",
    "m³",
    "x" * 16,
    "x" * 17,
    "x" * 128,
    "x" * 129,
    "x" * 200,
    "x" * 201,
    "x" * 501,
    "a|b",
    "a b",
    " ",
    "",
    "tab\there",
    "nul\x00",
    "del\x7f",
    "c1\x85",
    "lone\ud800",
    "Кабина",
    "8704",
    "870",
    "CNY",
    "cny",
    "QD-KHR-ALA-RAIL",
    "QD",
    "Q" * 30 + "-" + "R" * 34,
    "KZ-ALA-IPA",
    "CN-QD-SCODA",
    "UZ-TAS-NAVOI",
    "kz-ala-ipa",
    "KZ-ALA-IPA\n",
    "PLACED",
    "CONFIRMED",
    "CANCELLED",
    "FULFILLED",
    "AMENDED",
    "DELIVERED",
    "SEA",
    "placed",
    "0F8C5F2E-3B8A-4D55-9A43-6D1C2B7F9E10",
    "0f8c5f2e3b8a4d559a436d1c2b7f9e10",
    "0f8c5f2e-3b8a-4d55-9a43-6d1c2b7f9e10",
    None,
    7,
    ["PO-1"],
]
NESTED: list[Any] = [
    None,
    {"amount": 1.0, "currency": "CNY"},
    {"amount": 1, "currency": "KZT"},
    {"amount": -1.0, "currency": "CNY"},
    {"amount": 1.0, "currency": "yuan"},
    {"amount": 1.0, "currency": "cny"},
    {"amount": math.nan, "currency": "CNY"},
    {"amount": "1", "currency": "CNY"},
    {"amount": 1.0},
    {"amount": 1.0, "currency": "CNY", "extra": 1},
    {"name": "Khorgos", "lat": 44.2, "lon": 80.4},
    {"name": "Khorgos", "lat": 91, "lon": 80.4},
    {"name": "", "lat": 0, "lon": 0},
    {"name": "Khorgos", "lat": 44.2},
    {"name": "Khorgos\n", "lat": 44.2, "lon": 80.4},
    {"name": "Khorgos", "lat": -90.0, "lon": 180},
    {"name": "Khorgos", "lat": True, "lon": 80.4},
    [],
    "CNY",
]
LISTS: list[Any] = [[], ["PO-1"], ["PO-1", "PO 2"], ["x" * 129], ["P"] * 1001, ("PO-1",), None]

VALUES = st.sampled_from(TIMES + DAYS + NUMBERS + TEXTS + NESTED + LISTS)
MISSING = object()
POOLS = {
    **dict.fromkeys(("event_time", "planned_arrival", "estimated_arrival"), TIMES),
    **dict.fromkeys(("due_date", "week_start"), DAYS),
    **dict.fromkeys(("quantity", "actual_capacity", "maximum_capacity"), NUMBERS),
    **dict.fromkeys(("value", "checkpoint"), NESTED),
    "order_ids": LISTS,
}


def _change(name: str) -> st.SearchStrategy[tuple[str, Any]]:
    own = st.sampled_from(POOLS.get(name, TEXTS))
    return st.tuples(st.just(name), st.one_of(own, own, own, VALUES, st.just(MISSING)))


CHANGE = {name: _change(name) for kind in SAMPLES for name in [*SAMPLES[kind], "extra_field"]}
"""The strategy of each field's change, made once: a strategy made anew for every draw costs
hypothesis far more than the draw."""


def _changes(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    """Up to three fields changed: mostly to an edge value of their own type, sometimes to
    one of another type, or removed."""
    names = st.sampled_from([*SAMPLES[kind], "extra_field"])
    return st.lists(names.flatmap(CHANGE.__getitem__), max_size=3).map(dict)


def _doc(kind: str, changes: dict[str, Any]) -> dict[str, Any]:
    doc = {**SAMPLES[kind], "event_time": "2026-11-23T08:00:00Z"}
    for name, value in changes.items():
        if value is MISSING:
            doc.pop(name, None)
        else:
            doc[name] = value
    return doc


def _full(kind: str, docs: list[Any]) -> list[tuple[bytes, bytes]] | ParkLinkError:
    try:
        events = admit(kind, docs, PARKS[kind], NOW, BOUNDS)
    except ParkLinkError as exc:
        return exc
    return EventEncoder(FakeRegistry(), "x.").encode_many(kind, events)


def _judge(kind: str, docs: list[Any]) -> None:
    plain = admit_plain(kind, docs, PARKS[kind], NOW, BOUNDS)
    full = _full(kind, docs)
    if plain is not None:
        assert not isinstance(full, ParkLinkError), f"fast lane took what admit refused: {full}"
        assert EventEncoder(FakeRegistry(), "x.").encode_plain(kind, plain) == full
        assert [p.event_id for p in plain] == [d["event_id"].lower() for d in docs]


@pytest.mark.parametrize("kind", list(SAMPLES))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_lane_takes_only_what_admit_takes_and_frames_it_alike(
    kind: str, data: st.DataObject
) -> None:
    _judge(kind, [_doc(kind, {}), _doc(kind, data.draw(_changes(kind)))])


ALL = [*TIMES, *DAYS, *NUMBERS, *TEXTS, *NESTED, *LISTS, MISSING]


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_every_field_with_every_edge_value(kind: str) -> None:
    """One field changed at a time, to every value of every pool (event times at and around
    the bounds included), or removed."""
    for name in [*SAMPLES[kind], "extra_field"]:
        for value in ALL:
            _judge(kind, [_doc(kind, {name: value})])


@pytest.mark.parametrize("kind", list(SAMPLES))
def test_the_samples_take_the_fast_lane(kind: str) -> None:
    docs = [_doc(kind, {}), _doc(kind, {"event_id": "0F8C5F2E-3B8A-4D55-9A43-6D1C2B7F9E10"})]
    assert admit_plain(kind, docs, PARKS[kind], NOW, BOUNDS) is not None
    _judge(kind, docs)
    # Every optional field absent or null still takes it.
    optional = {"orders": ["value"], "shipments": ["checkpoint", "estimated_arrival"]}.get(
        kind, ["maximum_capacity", "reason"]
    )
    for name in optional:
        for value in (None, MISSING):
            lean = [_doc(kind, {name: value})]
            assert admit_plain(kind, lean, PARKS[kind], NOW, BOUNDS) is not None, name
            _judge(kind, lean)


def test_what_the_fast_lane_leaves_is_refused_by_admit_with_its_message() -> None:
    bad = [_doc("orders", {}), _doc("orders", {"quantity": -3})]
    assert admit_plain("orders", bad, PARKS["orders"], NOW, BOUNDS) is None
    refused = _full("orders", bad)
    assert isinstance(refused, ParkLinkError)
    assert "[1] quantity" in str(refused)
    foreign = [_doc("orders", {"source_park": "UZ-TAS-NAVOI"})]
    assert admit_plain("orders", foreign, PARKS["orders"], NOW, BOUNDS) is None
    assert admit_plain("alerts", [{}], PARKS["orders"], NOW, BOUNDS) is None
    assert admit_plain("orders", [], PARKS["orders"], NOW, BOUNDS) is None
