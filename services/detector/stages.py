"""The detector's stages, each keyed by what its rules need: orders and shipments by their
id, weeks by `category|week`, corridors by corridor id, parks by park id, and alerts by
alert_id. Each stage is pure: `(state, message, now) -> (new_state, outputs)`. The faust
agents and the in-memory `Engine` both run these, so the unit tests exercise the same code
the workers do.

A stage passes an alert on when its severity or impact may have changed, and always when a
message was not new (a repeat or a late older event): after a crash the message that is
replayed then re-sends what may have been lost, and the alert stage drops what it has
already emitted."""

from __future__ import annotations

from parklink.detector.rules import corridors, orders, parks, shipments, weeks
from parklink.detector.state import (
    AlertState,
    CorridorState,
    Declaration,
    DeclarationMessage,
    OrderEntity,
    ParkActivity,
    ShipmentEntity,
    ShipmentView,
    WeekMessage,
    WeekState,
    millis,
)
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import CapacityEvent, OrderEvent, ShipmentEvent


def _changed(before: list[AlertState], after: list[AlertState]) -> list[AlertState]:
    old = {a.alert_id: a.impact() for a in before}
    return [a for a in after if old.get(a.alert_id) != a.impact()]


class Stages:
    def __init__(self, limits: Thresholds) -> None:
        self.limits = limits

    def order(
        self, entity: OrderEntity | None, event: OrderEvent
    ) -> tuple[OrderEntity, list[tuple[str, WeekMessage]]]:
        entity, views = orders.apply_order(entity, event)
        return entity, [(bucket, WeekMessage(order=view)) for bucket, view in views]

    def capacity(self, event: CapacityEvent) -> tuple[str, WeekMessage]:
        msg = DeclarationMessage(
            park=event.park_id,
            category=event.category,
            week=event.week_start.isoformat(),
            declaration=Declaration(
                event_id=event.event_id,
                event_time=millis(event.event_time),
                actual=event.actual_capacity,
                maximum=event.maximum_capacity,
                unit=event.unit,
            ),
        )
        return msg.bucket, WeekMessage(capacity=msg)

    def week(
        self, state: WeekState | None, bucket: str, message: WeekMessage, now: int
    ) -> tuple[WeekState, list[AlertState]]:
        new, touched = weeks.apply_week(state, bucket, message)
        after = weeks.week_alerts(new, touched, self.limits, now)
        if state is None:
            return new, [a for a in after if a.severity]
        if new is state:
            return new, after
        return new, _changed(weeks.week_alerts(state, touched, self.limits, now), after)

    def shipment(
        self, entity: ShipmentEntity | None, event: ShipmentEvent, now: int
    ) -> tuple[ShipmentEntity, list[AlertState], list[tuple[str, ShipmentView]]]:
        new, advanced = shipments.apply_shipment(entity, event)
        delay = shipments.delay_alert(new, self.limits, now)
        views = shipments.corridor_views(new, delay)
        if entity is None:
            return new, [delay] if delay.severity else [], views if delay.severity else []
        if not advanced:
            return new, [delay], views
        before = shipments.delay_alert(entity, self.limits, now)
        moved = new.corridors != entity.corridors or new.order_ids != entity.order_ids
        if before.impact() == delay.impact() and not moved:
            return new, [], []
        return new, [delay], views

    def corridor(
        self, state: CorridorState | None, corridor: str, view: ShipmentView, now: int
    ) -> tuple[CorridorState, list[AlertState]]:
        new = corridors.apply_view(state, corridor, view)
        after = corridors.congestion_alert(new, self.limits, now)
        if state is None:
            return new, [after] if after.severity else []
        if new is state:
            return new, [after]
        before = corridors.congestion_alert(state, self.limits, now)
        return new, [] if before.impact() == after.impact() else [after]

    def park_seen(
        self,
        state: ParkActivity | None,
        park: str,
        published: int,
        event_id: str,
        partition: int,
        now: int,
    ) -> tuple[ParkActivity, list[AlertState]]:
        new = parks.seen(state, park, published, event_id, partition)
        alert = parks.silent_alert(new, self.limits, now)
        new = ParkActivity(
            new.park, new.last_published, new.last_event_id, new.partition, alert.severity
        )
        if state is None and alert.severity is None:
            return new, []
        return new, [alert]

    def park_tick(self, state: ParkActivity, now: int) -> tuple[ParkActivity, list[AlertState]]:
        """A clock tick: firing (or just resolved) silences are passed on at every tick, so
        a replayed tick re-sends one whose first sending was lost."""
        alert = parks.silent_alert(state, self.limits, now)
        if alert.severity is None and state.silent is None:
            return state, []
        new = ParkActivity(
            state.park, state.last_published, state.last_event_id, state.partition, alert.severity
        )
        return new, [alert]
