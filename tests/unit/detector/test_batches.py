"""The weekly and corridor stages take one message per key and source batch; a batch must
conclude what the same updates would have concluded one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories

from parklink.detector.events import of_model
from parklink.detector.rules.emit import transition
from parklink.detector.stages import Stages
from parklink.detector.state import AlertState, OrderEntity, WeekMessage
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert, Severity, ShipmentEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 11, 30, tzinfo=UTC)
AT = 1_000_000


def at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def emitted(conclusions: list[AlertState]) -> list[DisruptionAlert]:
    """What the alert stage makes of the conclusions, in order."""
    held: dict[str, DisruptionAlert] = {}
    out = []
    for desired in conclusions:
        alert = transition(held.get(desired.alert_id), desired)
        if alert is not None:
            held[alert.alert_id] = alert
            out.append(alert)
    return out


def week_messages(stages: Stages) -> tuple[str, list[WeekMessage]]:
    """Capacity 100 (max 130), then an order of 120 (shortfall), then its cancellation."""
    bucket, capacity = stages.capacity(of_model(factories.capacity(event_time=at(0))))
    messages = [capacity]
    entity: OrderEntity | None = None
    for minute, status in ((1, "CONFIRMED"), (2, "CANCELLED")):
        order = factories.order(order_id="PO-1", quantity=120, status=status, event_time=at(minute))
        entity, views = stages.order(entity, of_model(order))
        messages += [message for to, message in views if to == bucket]
    return bucket, messages


def test_a_week_batch_concludes_each_update_like_single_messages() -> None:
    stages = Stages(Thresholds())
    bucket, messages = week_messages(stages)

    one_by_one: list[AlertState] = []
    week = None
    for n, message in enumerate(messages):
        week, _, found = stages.week(week, bucket, message, AT + n)
        one_by_one += found

    batched, writes, conclusions = stages.week_updates(None, bucket, tuple(messages), AT)

    assert [(a.severity, a.status) for a in emitted(conclusions)] == [
        (Severity.WARNING, AlertStatus.FIRING),
        (Severity.WARNING, AlertStatus.RESOLVED),
    ]
    assert [a.impact() for a in conclusions] == [a.impact() for a in one_by_one]
    stamps = [a.at for a in conclusions]
    assert stamps == sorted(set(stamps)), "stamps must stay strictly increasing in a batch"
    assert batched is not None and week is not None
    assert batched.head.declarations == week.head.declarations
    assert batched.orders == week.orders and batched.suppliers == week.suppliers
    assert [w.order.status for w in writes if w.order is not None] == ["CONFIRMED", "CANCELLED"]


def delayed(n: int) -> ShipmentEvent:
    return factories.shipment(
        shipment_id=f"SH-{n}",
        corridor="KZ-CN-RAIL",
        event_time=at(n),
        planned_arrival=PLANNED.isoformat(),
        estimated_arrival=(PLANNED + timedelta(hours=30)).isoformat(),
    )


def test_a_corridor_batch_raises_each_delay_and_the_congestion() -> None:
    stages = Stages(Thresholds())
    views = []
    for n in range(3):
        _, found = stages.shipment(None, of_model(delayed(n)), AT)
        views += [view for _, view in found]

    state, writes, conclusions = stages.corridor_updates(None, "KZ-CN-RAIL", tuple(views), AT)

    alerts = emitted(conclusions)
    assert [a.type for a in alerts] == ["SHIPMENT_DELAY"] * 3 + ["CORRIDOR_CONGESTION"]
    assert alerts[-1].impacted_shipments == ["SH-0", "SH-1", "SH-2"]
    assert state is not None and set(state.shipments) == {"SH-0", "SH-1", "SH-2"}
    assert [sid for sid, _ in writes] == ["SH-0", "SH-1", "SH-2"]
    assert set(state.counted) == {"SH-0", "SH-1", "SH-2"}
    for alert_id in {a.alert_id for a in conclusions}:
        stamps = [a.at for a in conclusions if a.alert_id == alert_id]
        assert stamps == sorted(set(stamps)), "each alert's stamps must keep increasing"
