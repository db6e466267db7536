"""The reference model of SHIPMENT_DELAY and CORRIDOR_CONGESTION on hand-made histories."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.peers.backlog import reference
from parklink.eventkit.contracts import ShipmentEvent

PLANNED = datetime(2026, 11, 30, tzinfo=UTC)
T0 = datetime(2026, 11, 23, 6, tzinfo=UTC)


def update(sid: str, late: timedelta | None, at_h: float = 0, **kw: Any) -> ShipmentEvent:
    """An update of shipment `sid`, `at_h` hours after T0, estimating `late` past plan."""
    doc: dict[str, Any] = {
        "event_id": str(uuid.uuid4()),
        "event_time": T0 + timedelta(hours=at_h),
        "source_park": "CN-QD-SCODA",
        "shipment_id": sid,
        "order_ids": [f"PO-{sid}"],
        "status": "AT_BORDER",
        "mode": "RAIL",
        "origin_park": "CN-QD-SCODA",
        "destination_park": "KZ-ALA-IPA",
        "corridor": "QD-KHR-ALA-RAIL",
        "planned_arrival": PLANNED,
        "estimated_arrival": None if late is None else PLANNED + late,
    }
    return ShipmentEvent.model_validate({**doc, **kw})


H = timedelta(hours=1)
MS = timedelta(milliseconds=1)


def test_delay_severity_follows_the_thresholds_exactly() -> None:
    events = [
        update("A", 24 * H),
        update("B", 24 * H + MS),
        update("C", 72 * H),
        update("D", 72 * H + MS),
        update("E", -5 * H),
    ]
    assert {f for f in reference(events) if f[0] == "SHIPMENT_DELAY"} == {
        ("SHIPMENT_DELAY", "B", "WARNING"),
        ("SHIPMENT_DELAY", "C", "WARNING"),
        ("SHIPMENT_DELAY", "D", "CRITICAL"),
    }


def test_latest_by_event_time_wins_whatever_the_order_of_arrival() -> None:
    recovered_late = [update("A", 2 * H, at_h=5), update("A", 30 * H, at_h=1)]
    late_after_on_time = [update("B", 30 * H, at_h=5), update("B", 2 * H, at_h=1)]
    assert reference(recovered_late + late_after_on_time) == {("SHIPMENT_DELAY", "B", "WARNING")}


def test_an_update_without_estimate_keeps_the_last_estimate() -> None:
    events = [update("A", 80 * H, at_h=1), update("A", None, at_h=2, status="IN_TRANSIT")]
    assert reference(events) == {("SHIPMENT_DELAY", "A", "CRITICAL")}


def test_delivered_or_cancelled_resolves_the_delay() -> None:
    events = [
        update("A", 30 * H, at_h=1),
        update("A", 30 * H, at_h=2, status="DELIVERED"),
        update("B", 90 * H, at_h=1),
        update("B", 90 * H, at_h=2, status="CANCELLED"),
        update("C", 90 * H, at_h=1),
    ]
    assert reference(events) == {("SHIPMENT_DELAY", "C", "CRITICAL")}


def test_a_repeated_event_id_changes_nothing() -> None:
    first = update("A", 2 * H, at_h=1)
    # same id, later time and a late estimate: a replay with other content is still a replay
    replay = first.model_copy(
        update={"event_time": T0 + 5 * H, "estimated_arrival": PLANNED + 40 * H}
    )
    assert reference([first, replay]) == set()
    assert reference([first, first]) == set()


def test_corridor_congestion_counts_the_shipments_firing_at_the_end() -> None:
    corridor = "QD-KHR-ALA-RAIL"
    other = "KHR-ALA-ROAD"
    events = [update(f"S{i}", 30 * H, corridor=corridor) for i in range(5)]
    events += [update(f"R{i}", 30 * H, corridor=other) for i in range(3)]
    fired = reference(events)
    assert ("CORRIDOR_CONGESTION", corridor, "CRITICAL") in fired
    assert ("CORRIDOR_CONGESTION", other, "WARNING") in fired
    # one of the five delivered: 4 left, WARNING; one of the three back on time: resolved
    events += [
        update("S0", 30 * H, at_h=1, corridor=corridor, status="DELIVERED"),
        update("R0", 1 * H, at_h=1, corridor=other),
    ]
    congestion = {f for f in reference(events) if f[0] == "CORRIDOR_CONGESTION"}
    assert congestion == {("CORRIDOR_CONGESTION", corridor, "WARNING")}


def test_thresholds_are_parameters() -> None:
    events = [update(f"S{i}", 10 * H) for i in range(2)]
    assert reference(events) == set()
    fired = reference(
        events, warning_h=8, critical_h=9, congestion_warning=1, congestion_critical=2
    )
    assert ("CORRIDOR_CONGESTION", "QD-KHR-ALA-RAIL", "CRITICAL") in fired
    assert ("SHIPMENT_DELAY", "S0", "CRITICAL") in fired
