"""The peer benchmark's shipments backlog: deterministic, and the mix it promises."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from bench.peers.backlog import EVENTS, SHIPMENTS, Backlog, generate, reference
from parklink.eventkit.contracts import ShipmentStatus
from parklink.simulator.geography import CORRIDORS

BASE = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def backlog() -> Backlog:
    return generate(BASE)


def test_same_seed_same_backlog_other_seed_other_backlog() -> None:
    one = generate(BASE, seed=7, shipments=400, total=2_100)
    two = generate(BASE, seed=7, shipments=400, total=2_100)
    other = generate(BASE, seed=8, shipments=400, total=2_100)
    assert [e.model_dump() for e in one.events] == [e.model_dump() for e in two.events]
    assert [e.event_id for e in one.events] != [e.event_id for e in other.events]


def test_size_shipments_and_corridors(backlog: Backlog) -> None:
    assert len(backlog.events) == EVENTS
    per_shipment = Counter(e.shipment_id for e in backlog.events)
    assert len(per_shipment) == SHIPMENTS
    distinct = len({e.event_id for e in backlog.events})
    assert 4.5 <= distinct / SHIPMENTS <= 5.5
    assert {e.corridor for e in backlog.events} == {c.corridor_id for c in CORRIDORS}
    assert all(e.source_park in (e.origin_park, e.destination_park) for e in backlog.events)


def test_lifecycles_from_booking_to_delivery(backlog: Backlog) -> None:
    statuses = Counter(e.status for e in backlog.events)
    assert set(statuses) == set(ShipmentStatus)
    delivered = {e.shipment_id for e in backlog.events if e.status is ShipmentStatus.DELIVERED}
    assert 0.7 * SHIPMENTS < len(delivered) < 0.95 * SHIPMENTS


def test_about_a_tenth_late_some_very_late(backlog: Backlog) -> None:
    late_h: dict[str, float] = {}
    for e in backlog.events:
        assert e.estimated_arrival is not None
        h = (e.estimated_arrival - e.planned_arrival).total_seconds() / 3600
        late_h[e.shipment_id] = max(h, late_h.get(e.shipment_id, h))
    late = [h for h in late_h.values() if h > 24]
    assert 0.08 * SHIPMENTS <= len(late) <= 0.14 * SHIPMENTS
    assert 0.2 * len(late) <= sum(h > 72 for h in late) <= 0.5 * len(late)


def test_repeats_are_exact_copies_and_some_updates_come_late(backlog: Backlog) -> None:
    by_id: dict[str, object] = {}
    repeats = 0
    for e in backlog.events:
        if e.event_id in by_id:
            repeats += 1
            assert by_id[e.event_id] == e
        by_id[e.event_id] = e
    assert repeats == backlog.duplicates >= 1_000
    newest: dict[str, datetime] = {}
    late = 0
    for e in backlog.events:
        held = newest.get(e.shipment_id)
        if held is not None and e.event_time < held:
            late += 1
        else:
            newest[e.shipment_id] = e.event_time
    assert late >= backlog.late_updates >= 500


def test_the_end_state_has_every_kind_of_corridor(backlog: Backlog) -> None:
    fired = reference(backlog.events)
    congestion = Counter(sev for kind, _, sev in fired if kind == "CORRIDOR_CONGESTION")
    delays = Counter(sev for kind, _, sev in fired if kind == "SHIPMENT_DELAY")
    assert congestion["WARNING"] >= 2
    assert congestion["CRITICAL"] >= 2
    assert sum(congestion.values()) < len(CORRIDORS)
    assert delays["WARNING"] >= 10
    assert delays["CRITICAL"] >= 5
    # a processor that takes the topic's order for the order of events gets another answer
    in_topic_order = {e.shipment_id: e for e in backlog.events}
    assert reference(in_topic_order.values()) != fired
