"""Closed entities and past weeks leave the tables after the retention (rules/retention.py),
with a tombstone, and a late copy of an old event cannot bring them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories

from parklink.detector.engine import Engine
from parklink.detector.rules.retention import DAY_MS
from parklink.detector.stages import Stages
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import AlertStatus

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LIMITS = Thresholds(closed_retention_days=35, week_retention_days=35, sweep_seconds=3600)


def engine() -> Engine:
    return Engine(LIMITS, TimeBounds())


def at(t: datetime) -> str:
    return t.isoformat()


def delayed(t: datetime, **fields: object) -> dict[str, object]:
    return {
        "event_time": at(t),
        "planned_arrival": at(T0 + timedelta(days=7)),
        "estimated_arrival": at(T0 + timedelta(days=9)),
        **fields,
    }


def test_the_retention_is_never_shorter_than_a_late_event_may_be() -> None:
    stages = Stages(Thresholds(closed_retention_days=1), TimeBounds())
    assert stages.retention.closed_ms == (30 * 86_400 + 600) * 1000
    assert Stages(LIMITS, TimeBounds()).retention.closed_ms == 35 * DAY_MS


def test_a_partition_is_swept_on_its_first_batch_then_once_a_period() -> None:
    retention = Stages(LIMITS, TimeBounds()).retention
    cache: dict[str, object] = {}
    assert retention.due(cache, 0, 1_000)  # first batch after a start or a rebalance
    assert not retention.due(cache, 0, 1_000 + 3_599_999)
    assert retention.due(cache, 0, 1_000 + 3_600_000)
    assert retention.due(cache, 1, 1_000 + 3_600_000)  # each partition on its own
    assert not retention.due(cache, 1, 1_000 + 3_600_001)
    assert not retention.due(cache, 0, 500)  # an earlier broker time: not due


def test_a_delivered_shipment_leaves_and_its_late_copy_is_refused() -> None:
    eng = engine()
    late = factories.shipment(**delayed(T0))
    [fired] = eng.process(late, T0)
    assert fired.status is AlertStatus.FIRING
    eng.process(
        factories.shipment(**delayed(T0 + timedelta(hours=1), status="DELIVERED")),
        T0 + timedelta(hours=1),
    )
    assert eng.alerts[fired.alert_id].status is AlertStatus.RESOLVED
    kept = factories.shipment(**delayed(T0, shipment_id="SH-2", estimated_arrival=None))
    later = T0 + timedelta(days=35, hours=2)
    eng.process(kept, T0 + timedelta(days=2))  # notes the time of the partition
    eng.process(factories.shipment(**delayed(later, shipment_id="SH-3")), later)
    shipments = eng.tables["shipments"]
    assert shipments.get("SH-1") is None
    assert "SH-1" in eng.tables["shipments"].deleted
    assert shipments.get("SH-3") is not None
    # A late copy of the delayed event: out of bounds, nothing re-raised.
    assert eng.process(late, later) == []
    assert eng.refused[-1][1] == "out-of-bounds"
    assert fired.alert_id not in eng.firing()


def test_an_open_shipment_stays_within_the_idle_retention() -> None:
    eng = engine()
    eng.process(factories.shipment(**delayed(T0)), T0)
    eng.process(factories.shipment(**delayed(T0, shipment_id="SH-2")), T0 + timedelta(hours=1))
    later = T0 + timedelta(days=89)
    eng.process(factories.shipment(**delayed(later, shipment_id="SH-3")), later)
    assert eng.tables["shipments"].get("SH-1") is not None


def test_a_fulfilled_order_leaves() -> None:
    eng = engine()
    eng.process(factories.order(event_time=at(T0), due_date="2027-06-01"), T0)
    eng.process(
        factories.order(
            event_time=at(T0 + timedelta(hours=1)),
            status="FULFILLED",
            source_park="CN-QD-SCODA",
            due_date="2027-06-01",
        ),
        T0 + timedelta(hours=1),
    )
    open_one = factories.order(order_id="PO-2", event_time=at(T0), due_date="2027-06-01")
    eng.process(open_one, T0 + timedelta(hours=2))
    later = T0 + timedelta(days=36)
    eng.process(
        factories.order(order_id="PO-3", event_time=at(later), due_date="2027-06-01"), later
    )
    orders = eng.tables["orders"]
    assert orders.get("PO-1001") is None
    assert orders.get("PO-2") is not None


def test_a_past_week_leaves_and_its_firing_shortfall_resolves() -> None:
    eng = engine()
    eng.process(factories.capacity(event_time=at(T0), actual_capacity=10.0), T0)
    [short] = eng.process(factories.order(event_time=at(T0), quantity=50), T0)
    assert short.status is AlertStatus.FIRING  # week of 2026-12-07
    # 35 days after the week ended, any later message of that weeks partition sweeps it.
    later = datetime(2026, 12, 14, tzinfo=UTC) + timedelta(days=35, hours=2)
    eng.process(
        factories.order(order_id="PO-9", event_time=at(later), due_date="2027-03-03"), later
    )
    gone = eng.alerts[short.alert_id]
    assert gone.status is AlertStatus.RESOLVED
    assert "is over" in gone.summary
    assert eng.tables["week-heads"].get("8704|2026-12-07") is None
    assert eng.tables["week-orders"].get("8704|2026-12-07|PO-1001") is None
    assert eng.tables["orders"].get("PO-1001") is None
    assert eng.tables["week-heads"].get("8704|2027-03-01") is None  # never had one
    assert eng.tables["week-orders"].get("8704|2027-03-01|PO-9") is not None


def test_a_resolved_alert_leaves_the_alert_stage_by_the_clock() -> None:
    eng = engine()
    [fired] = eng.process(factories.shipment(**delayed(T0)), T0)
    eng.process(
        factories.shipment(**delayed(T0 + timedelta(hours=1), status="DELIVERED")),
        T0 + timedelta(hours=1),
    )
    later = T0 + timedelta(days=36)
    eng.process(factories.shipment(**delayed(later, shipment_id="SH-2")), later)
    eng.process(
        factories.shipment(**delayed(later, shipment_id="SH-3")), later + timedelta(hours=2)
    )
    assert fired.alert_id not in eng.alerts
    assert "SHIPMENT_DELAY|SH-3" in eng.alerts


def test_a_stale_conclusion_for_an_alert_no_longer_held_is_dropped() -> None:
    retention = Stages(LIMITS, TimeBounds()).retention
    now = 100 * DAY_MS
    assert retention.stale(now - 35 * DAY_MS - 1, now)
    assert not retention.stale(now - 35 * DAY_MS, now)
