"""Open entities that had no update for the idle retention leave the tables too (with a
tombstone), and an alert one of them holds resolves, saying why; after a restart a stage
sweeps on its first batch, so what the restore brought back does not linger."""

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
LIMITS = Thresholds(closed_retention_days=35, week_retention_days=35, idle_retention_days=90)
CORRIDOR = "QD-KHR-ALA-RAIL"


def at(t: datetime) -> str:
    return t.isoformat()


def delayed(t: datetime, shipment_id: str, corridor: str = CORRIDOR) -> dict[str, object]:
    return {
        "event_time": at(t),
        "shipment_id": shipment_id,
        "order_ids": [f"PO-{shipment_id}"],
        "corridor": corridor,
        "planned_arrival": at(T0 + timedelta(days=7)),
        "estimated_arrival": at(T0 + timedelta(days=9)),
    }


def test_the_idle_retention_is_never_shorter_than_a_late_event_may_be() -> None:
    short = Stages(Thresholds(idle_retention_days=1), TimeBounds()).retention
    assert short.idle_ms == (30 * 86_400 + 600) * 1000
    assert Stages(LIMITS, TimeBounds()).retention.idle_ms == 90 * DAY_MS


def test_an_idle_delayed_shipment_leaves_and_its_alerts_resolve_saying_why() -> None:
    eng = Engine(LIMITS, TimeBounds())
    for n in (1, 2, 3):
        eng.process(factories.shipment(**delayed(T0, f"SH-{n}")), T0)
    firing = eng.firing()
    assert {"SHIPMENT_DELAY|SH-1", f"CORRIDOR_CONGESTION|{CORRIDOR}"} <= set(firing)
    # 89 days on, news of another corridor: nothing idle yet.
    soon = T0 + timedelta(days=89)
    eng.process(factories.shipment(**delayed(soon, "SH-8", "OTHER-RAIL")), soon)
    assert eng.tables["shipments"].get("SH-1") is not None
    assert f"CORRIDOR_CONGESTION|{CORRIDOR}" in eng.firing()
    # 91 days on (the sweep period has passed): the three had no update for 90 days.
    later = T0 + timedelta(days=91)
    eng.process(factories.shipment(**delayed(later, "SH-9", "OTHER-RAIL")), later)
    for n in (1, 2, 3):
        assert eng.tables["shipments"].get(f"SH-{n}") is None
        assert f"SH-{n}" in eng.tables["shipments"].deleted
        gone = eng.alerts[f"SHIPMENT_DELAY|SH-{n}"]
        assert gone.status is AlertStatus.RESOLVED
        assert "no update for 90 days" in gone.summary
    congestion = eng.alerts[f"CORRIDOR_CONGESTION|{CORRIDOR}"]
    assert congestion.status is AlertStatus.RESOLVED
    assert eng.tables["corridor-heads"].get(CORRIDOR) is None
    assert not [k for k, _ in eng.tables["corridor-shipments"].items() if k.startswith(CORRIDOR)]
    assert CORRIDOR in eng.tables["corridor-heads"].deleted
    for n in (1, 2, 3):
        assert f"{CORRIDOR}|SH-{n}" in eng.tables["corridor-shipments"].deleted
    assert "SHIPMENT_DELAY|SH-9" in eng.firing()
    # News of an idle shipment starts it afresh.
    news = later + timedelta(hours=2)
    eng.process(factories.shipment(**delayed(news, "SH-1")), news)
    assert eng.alerts["SHIPMENT_DELAY|SH-1"].status is AlertStatus.FIRING


def test_an_idle_open_order_leaves_its_order_table_and_its_week() -> None:
    eng = Engine(LIMITS, TimeBounds())
    due = "2028-06-01"  # week of 2028-05-29, long after the idle retention
    eng.process(
        factories.capacity(event_time=at(T0), week_start="2028-05-29", actual_capacity=10.0), T0
    )
    [short] = eng.process(factories.order(event_time=at(T0), quantity=50, due_date=due), T0)
    assert short.status is AlertStatus.FIRING
    later = T0 + timedelta(days=91)
    small = factories.order(order_id="PO-9", event_time=at(later), quantity=5, due_date=due)
    eng.process(small, later)
    assert eng.tables["orders"].get("PO-1001") is None
    assert "PO-1001" in eng.tables["orders"].deleted
    assert eng.tables["week-orders"].get("8704|2028-05-29|PO-1001") is None
    assert eng.tables["week-orders"].get("8704|2028-05-29|PO-9") is not None
    assert eng.tables["orders"].get("PO-9") is not None
    # The demand left with the idle order: 5 fits the capacity of 10.
    assert eng.alerts[short.alert_id].status is AlertStatus.RESOLVED
    assert eng.tables["week-heads"].get("8704|2028-05-29") is not None


def test_an_open_order_with_recent_news_stays() -> None:
    eng = Engine(LIMITS, TimeBounds())
    due = "2028-06-01"
    eng.process(factories.order(event_time=at(T0), due_date=due), T0)
    later = T0 + timedelta(days=89)
    eng.process(factories.order(order_id="PO-9", event_time=at(later), due_date=due), later)
    assert eng.tables["orders"].get("PO-1001") is not None
    assert eng.tables["week-orders"].get("8704|2028-05-29|PO-1001") is not None


def test_after_a_restart_the_alert_stage_sweeps_on_its_first_batch() -> None:
    before = Engine(LIMITS, TimeBounds())
    [fired] = before.process(factories.shipment(**delayed(T0, "SH-1")), T0)
    resolved_at = T0 + timedelta(hours=1)
    delivered = {**delayed(resolved_at, "SH-1"), "status": "DELIVERED"}
    before.process(factories.shipment(**delivered), resolved_at)
    assert before.alerts[fired.alert_id].status is AlertStatus.RESOLVED
    # A new worker restores the emitted table (the alerts topic) and reads on 36 days later.
    after = Engine(LIMITS, TimeBounds())
    after.tables["emitted"].data.update(before.alerts)
    later = T0 + timedelta(days=36)
    after.process(factories.shipment(**delayed(later, "SH-2")), later)
    assert fired.alert_id not in after.alerts
    assert "SHIPMENT_DELAY|SH-2" in after.alerts
    # Within the retention a resolved alert stays after the restart.
    again = Engine(LIMITS, TimeBounds())
    again.tables["emitted"].data.update(before.alerts)
    soon = T0 + timedelta(days=2)
    again.process(factories.shipment(**delayed(soon, "SH-3")), soon)
    assert fired.alert_id in again.alerts
