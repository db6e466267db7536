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

from dataclasses import replace

from parklink.detector.events import CapacityRecord, OrderRecord, ShipmentRecord
from parklink.detector.rules import corridors, orders, parks, shipments, weeks
from parklink.detector.rules.admission import Admission
from parklink.detector.rules.retention import DAY_MS, Retention
from parklink.detector.state import (
    NO_IMPACT,
    AlertState,
    CorridorState,
    CorridorWrite,
    Declaration,
    DeclarationMessage,
    OrderEntity,
    ParkActivity,
    ShipmentEntity,
    ShipmentView,
    Week,
    WeekMessage,
    WeekWrites,
)
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds


def stamp(alerts: list[AlertState], clock: int, now: int) -> tuple[list[AlertState], int]:
    """Stamp a stage key's conclusions with a time after every earlier one of that key (the
    broker time of the message, moved on by a millisecond where a batch shares it), so the
    alert stage can tell a replayed conclusion from a new one."""
    if not alerts:
        return alerts, clock
    at = max(now, clock + 1)
    return [replace(a, at=at) for a in alerts], at


class Stages:
    def __init__(self, limits: Thresholds, bounds: TimeBounds | None = None) -> None:
        self.limits = limits
        self.bounds = bounds or TimeBounds()
        self.admission = Admission(self.bounds)
        self.heartbeat_ms = int(limits.heartbeat_seconds * 1000)
        self.clock = limits.clock()
        late = int((self.bounds.horizon + self.bounds.skew).total_seconds() * 1000)
        self.retention = Retention(
            closed_ms=max(int(limits.closed_retention_days * DAY_MS), late),
            week_ms=int(limits.week_retention_days * DAY_MS),
            sweep_ms=int(limits.sweep_seconds * 1000),
            idle_ms=max(int(limits.idle_retention_days * DAY_MS), late),
        )

    def order(
        self,
        entity: OrderEntity | None,
        event: OrderRecord,
        offset: int | None = None,
        committed: int | None = None,
    ) -> tuple[OrderEntity, list[tuple[str, WeekMessage]]]:
        entity, views = orders.apply_order(entity, event, offset, committed)
        return entity, [(bucket, WeekMessage(order=view)) for bucket, view in views]

    def capacity(self, event: CapacityRecord) -> tuple[str, WeekMessage]:
        msg = DeclarationMessage(
            park=event.park_id,
            category=event.category,
            week=event.week_start.isoformat(),
            declaration=Declaration(
                event_id=event.event_id,
                event_time=event.event_time,
                actual=event.actual_capacity,
                maximum=event.maximum_capacity,
                unit=event.unit,
            ),
        )
        return msg.bucket, WeekMessage(capacity=msg)

    def week(
        self, week: Week | None, bucket: str, message: WeekMessage, now: int
    ) -> tuple[Week, WeekWrites, list[AlertState]]:
        """The week (updated in place), the entries to store and the conclusions. Only the
        touched suppliers' alerts are looked at, and those list orders only when firing."""
        fresh = week is None
        if week is None:
            week = weeks.new_week(bucket)
        limits = self.limits
        parks = weeks.touched(week, message)
        news = weeks.is_news(week, message)
        before = weeks.week_impacts(week, parks, limits) if news and not fresh else {}
        writes = weeks.apply_week(week, message)
        if not news:
            out = weeks.week_alerts(week, parks, limits, now)
        else:
            after = weeks.week_impacts(week, parks, limits)
            if fresh:
                worded = {k for k, impact in after.items() if impact[0] is not None}
            else:
                worded = {k for k, impact in after.items() if before.get(k) != impact}
            out = (
                [a for a in weeks.week_alerts(week, parks, limits, now) if a.alert_id in worded]
                if worded
                else []
            )
        out, clock = stamp(out, week.head.clock, now)
        if clock != week.head.clock:
            week.head = replace(week.head, clock=clock)
            writes = replace(writes, head=week.head)
        return week, writes, out

    def week_updates(
        self, week: Week | None, bucket: str, messages: tuple[WeekMessage, ...], now: int
    ) -> tuple[Week | None, list[WeekWrites], list[AlertState]]:
        """`week` for each message in turn: the writes and conclusions of all of them, in
        order (a conclusion per change, as if they had come one by one)."""
        writes: list[WeekWrites] = []
        out: list[AlertState] = []
        for message in messages:
            week, saved, found = self.week(week, bucket, message, now)
            writes.append(saved)
            out += found
        return week, writes, out

    def shipment(
        self, entity: ShipmentEntity | None, event: ShipmentRecord, now: int
    ) -> tuple[ShipmentEntity, list[tuple[str, ShipmentView]]]:
        """The shipment's new state and its views for the corridor stage, which raises both
        its SHIPMENT_DELAY and the corridor's congestion (so every alert is concluded from a
        repartitioned, broker-timed message)."""
        new, advanced = shipments.apply_shipment(entity, event)
        limits = self.limits
        if entity is None:
            if shipments.delay_severity(new, limits) is None:
                return new, []
        elif advanced:
            moved = new.corridors != entity.corridors or new.order_ids != entity.order_ids
            if not moved and shipments.same_delay_impact(entity, new, limits):
                return new, []
        return new, shipments.corridor_views(new, shipments.delay_alert(new, limits, now))

    def corridor(
        self, state: CorridorState | None, corridor: str, view: ShipmentView, now: int
    ) -> tuple[CorridorState, list[CorridorWrite], list[AlertState]]:
        """The corridor (updated in place), the shipment entries it changed and the
        conclusions."""
        fresh = state is None
        if state is None:
            state = CorridorState(corridor=corridor)
        held = state.shipments.get(view.shipment_id)
        limits = self.limits
        before = None if fresh else corridors.remembered_congestion(state, limits)
        writes = corridors.apply_view(state, view)
        advanced = bool(writes)
        out: list[AlertState] = []
        # The view's own delay when it is news, or a replay of the view held (a corridor
        # keeps no delay for a shipment it does not count, see corridors.slim); else the
        # one held, so a late older view re-sends the current conclusion.
        current = view if advanced or held is None or held.version == view.version else held
        delay = corridors.delay_of(current)
        if delay is not None and current.corridor == corridor:
            was = None if held is None else corridors.delay_of(held)
            impact = NO_IMPACT if was is None else was.impact()
            if not advanced or delay.impact() != impact:
                out.append(replace(delay, at=now))
        after, alert = corridors.congestion(state, limits, now)
        state.congestion = after
        # A new corridor speaks once congested; a known one when its congestion changed, and
        # again for a replayed view.
        send = (after != NO_IMPACT) if fresh else (not advanced or before != after)
        if send:
            out.append(alert or corridors.congestion_alert(state, limits, now))
        out, state.clock = stamp(out, state.clock, now)
        return state, writes, out

    def corridor_updates(
        self,
        state: CorridorState | None,
        corridor: str,
        views: tuple[ShipmentView, ...],
        now: int,
    ) -> tuple[CorridorState | None, list[CorridorWrite], list[AlertState]]:
        """`corridor` for each view in turn: the entries changed and the conclusions of all
        of them, in order."""
        writes: list[CorridorWrite] = []
        out: list[AlertState] = []
        for view in views:
            state, changed, found = self.corridor(state, corridor, view, now)
            writes += changed
            out += found
        return state, writes, out

    def week_over(self, week: Week, now: int) -> tuple[Week, list[AlertState]]:
        """A week that leaves the tables: its shortfalls and drops resolve (the alert stage
        passes on only those that were firing)."""
        head = week.head
        out = [
            replace(
                alert,
                severity=None,
                summary=f"The week of {head.week} is over: {alert.subject} is no longer watched.",
                parks=(),
                impacted_orders=(),
                evidence=(),
                metrics={},
            )
            for park in sorted({*head.declarations, *week.suppliers})
            for alert in weeks.week_alerts(week, [park], self.limits, now)
        ]
        out, clock = stamp(out, head.clock, now)
        week.head = replace(head, clock=clock)
        return week, out

    def corridor_swept(
        self, state: CorridorState, now: int
    ) -> tuple[CorridorState | None, list[AlertState]]:
        """A corridor after its sweep (rules/retention.py; None when nothing is left) and the
        conclusions of the delayed shipments it let go for being idle: their delays resolve,
        and the congestion no longer counts them."""
        kept = self.retention.corridor_swept(state, now)
        if kept is state:
            return state, []
        out = self.retention.idle_delays(state, now)
        if out:
            left = kept or CorridorState(corridor=state.corridor)
            after, alert = corridors.congestion(left, self.limits, now)
            if corridors.remembered_congestion(state, self.limits) != after:
                out.append(alert or corridors.congestion_alert(left, self.limits, now))
        out, clock = stamp(out, state.clock, now)
        if kept is None or clock == state.clock:
            return kept, out
        return replace(kept, clock=clock), out

    def week_idle(self, week: Week, now: int) -> tuple[Week, list[str], list[AlertState]]:
        """The week without the order views that had no update for the idle retention
        (rules/retention.py), the order ids that left, and the conclusions of their
        suppliers' alerts that this changed."""
        gone = {o for o, view in week.orders.items() if self.retention.view_idle(view, now)}
        if not gone:
            return week, [], []
        parks = sorted({week.orders[o].supplier_park for o in gone})
        before = weeks.week_impacts(week, parks, self.limits)
        kept = [
            (weeks.order_key(week.bucket, o), view)
            for o, view in week.orders.items()
            if o not in gone
        ]
        new = weeks.rebuild([(week.bucket, week.head)], kept)[week.bucket]
        after = weeks.week_impacts(new, parks, self.limits)
        out = [
            alert
            for alert in weeks.week_alerts(new, parks, self.limits, now)
            if before.get(alert.alert_id) != after.get(alert.alert_id)
        ]
        out, clock = stamp(out, new.head.clock, now)
        new.head = replace(new.head, clock=clock)
        return new, sorted(gone), out

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
        out = [] if state is None and alert.severity is None else [alert]
        out, clock = stamp(out, new.clock, now)
        return replace(new, silent=alert.severity, clock=clock), out

    def park_tick(self, state: ParkActivity, now: int) -> tuple[ParkActivity, list[AlertState]]:
        """A clock tick: firing (or just resolved) silences are passed on at every tick, so
        a replayed tick re-sends one whose first sending was lost."""
        alert = parks.silent_alert(state, self.limits, now)
        if alert.severity is None and state.silent is None:
            return state, []
        out, clock = stamp([alert], state.clock, now)
        return replace(state, silent=alert.severity, clock=clock), out
