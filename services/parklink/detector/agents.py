"""The stage handlers: each one takes a batch of its input messages, calls its pure stage
from `stages.py` and moves the results into its tables and outputs, through the narrow
`StageIO` of `ports.py`. `topology.py` says which handler reads what; no rule logic and no
Kafka plumbing lives here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parklink.detector.events import CapacityRecord, OrderRecord, ParkRecord, ShipmentRecord
from parklink.detector.ports import Message, StageIO
from parklink.detector.rules import admission, weeks
from parklink.detector.rules import corridors as corridor_rules
from parklink.detector.rules.emit import transition
from parklink.detector.state import AlertState, CorridorHead, CorridorState, ParkMessage, Week


def _seen(io: StageIO, msg: Message, record: ParkRecord) -> None:
    """Pass a park's activity on to the park stage, at most once per heartbeat interval per
    park (PARK_SILENT thresholds are hours; this keeps the park stage off the hot path)."""
    beats: dict[str, int] = io.cache.setdefault("heartbeats", {})
    park = record.source_park
    last = beats.get(park)
    if last is not None and msg.timestamp - last < io.stages.heartbeat_ms:
        return
    beats[park] = msg.timestamp
    io.send(
        "parks", park, ParkMessage(park=park, published=msg.timestamp, event_id=record.event_id)
    )


def _due(io: StageIO, batch: Sequence[Message]) -> list[tuple[int, int]]:
    """The (partition, broker time) of the batch's partitions that are due for a sweep
    (rules/retention.py)."""
    clocks: dict[int, int] = {}
    for msg in batch:
        if msg.timestamp > clocks.get(msg.partition, -1):
            clocks[msg.partition] = msg.timestamp
    due = io.stages.retention.due
    return [(p, now) for p, now in clocks.items() if due(io.cache, p, now)]


def _sweep(io: StageIO, batch: Sequence[Message], name: str, expired: Any) -> None:
    """Drop the entries of the table `name` that `expired(value, now)` says have left, in
    one pass over the table for all the batch's due partitions."""
    due = dict(_due(io, batch))
    if not due:
        return
    table = io.table(name)
    for key, value, part in list(table.entries()):
        now = due.get(part)
        if now is not None and expired(value, now):
            table.delete(key, part)


def _refused(io: StageIO, msg: Message, refusal: admission.Refusal | None) -> bool:
    if refusal is None:
        return False
    io.reject(msg, refusal.reason, refusal.message)
    return True


def orders(io: StageIO, batch: Sequence[Message]) -> None:
    """Orders by order_id: the latest state of each, passed on to its weeks."""
    table, stages = io.table("orders"), io.stages
    for msg in batch:
        order: OrderRecord = msg.value
        held = table.get(order.order_id)
        if _refused(io, msg, stages.admission.admit(order, msg.timestamp)):
            continue
        if _refused(io, msg, admission.order_binding(held, order)):
            continue
        entity, messages = stages.order(held, order, msg.offset, io.committed(msg.partition))
        if entity is not held:
            table.put(order.order_id, entity, msg.partition)
        for bucket, message in messages:
            io.send("weeks", bucket, message)
        _seen(io, msg, order)
    _sweep(io, batch, "orders", stages.retention.order_expired)


def capacity(io: StageIO, batch: Sequence[Message]) -> None:
    """Capacity declarations, passed on to their category-week."""
    for msg in batch:
        declared: CapacityRecord = msg.value
        if _refused(io, msg, io.stages.admission.admit(declared, msg.timestamp)):
            continue
        if _refused(io, msg, admission.capacity_week(declared, msg.timestamp, io.stages.retention)):
            continue
        io.send("weeks", *io.stages.capacity(declared))
        _seen(io, msg, declared)


def shipments(io: StageIO, batch: Sequence[Message]) -> None:
    """Shipments by shipment_id: the latest state of each; what a corridor needs to know."""
    table, stages = io.table("shipments"), io.stages
    now = io.now()
    for msg in batch:
        shipment: ShipmentRecord = msg.value
        held = table.get(shipment.shipment_id)
        if _refused(io, msg, stages.admission.admit(shipment, msg.timestamp)):
            continue
        if _refused(io, msg, admission.shipment_binding(held, shipment)):
            continue
        entity, views = stages.shipment(held, shipment, now)
        if entity != held:
            table.put(shipment.shipment_id, entity, msg.partition)
        for corridor, view in views:
            io.send("corridors", corridor, view)
        _seen(io, msg, shipment)
    _sweep(io, batch, "shipments", stages.retention.shipment_expired)


def _conclude(io: StageIO, alerts: list[AlertState]) -> None:
    for alert in alerts:
        io.send("alerts", alert.alert_id, alert)


def category_weeks(io: StageIO, batch: Sequence[Message]) -> None:
    """Category-weeks: demand against capacity (CAPACITY_SHORTFALL, CAPACITY_DROP). The weeks
    live in memory, built from their two tables after every restore."""
    heads, views = io.table("week-heads"), io.table("week-orders")
    book: dict[str, Week] | None = io.cache.get("weeks")
    if book is None:
        book = io.cache["weeks"] = weeks.rebuild(heads.items(), views.items())
    for msg in batch:
        bucket, partition = msg.key, msg.partition
        week, saved, alerts = io.stages.week_updates(
            book.get(bucket), bucket, msg.value, msg.timestamp
        )
        if week is not None:
            book[bucket] = week
        for writes in saved:
            if writes.head is not None:
                heads.put(bucket, writes.head, partition)
            if writes.order is not None:
                key = weeks.order_key(bucket, writes.order.order_id)
                views.put(key, writes.order, partition)
        _conclude(io, alerts)
    for partition, now in _due(io, batch):
        _weeks_over(io, book, partition, now)


def _weeks_over(io: StageIO, book: dict[str, Week], partition: int, now: int) -> None:
    """The weeks of a partition that have left: their entries go, their alerts resolve."""
    heads, views = io.table("week-heads"), io.table("week-orders")
    expired = io.stages.retention.week_expired
    gone: set[str] = set()
    for bucket, head, part in list(heads.entries()):
        if part == partition and expired(head.week, now):
            gone.add(bucket)
            heads.delete(bucket, partition)
    for key, view, part in list(views.entries()):
        bucket = key.removesuffix(f"|{view.order_id}")
        if part == partition and (bucket in gone or expired(bucket.split("|", 1)[1], now)):
            gone.add(bucket)
            views.delete(key, partition)
    for bucket in sorted(gone):
        week = book.pop(bucket, None)
        if week is not None:
            _conclude(io, io.stages.week_over(week, now)[1])
    _weeks_idle(io, book, partition, now)


def _weeks_idle(io: StageIO, book: dict[str, Week], partition: int, now: int) -> None:
    """The order views of a partition's weeks that had no update for the idle retention
    leave their week (rules/retention.py)."""
    heads, views = io.table("week-heads"), io.table("week-orders")
    idle = io.stages.retention.view_idle
    buckets = {
        key.removesuffix(f"|{view.order_id}")
        for key, view, part in views.entries()
        if part == partition and idle(view, now)
    }
    for bucket in sorted(buckets):
        held = book.get(bucket)
        if held is None:
            continue
        week, left, alerts = io.stages.week_idle(held, now)
        book[bucket] = week
        for order_id in left:
            views.delete(weeks.order_key(bucket, order_id), partition)
        if alerts:
            heads.put(bucket, week.head, partition)
        _conclude(io, alerts)


def corridors(io: StageIO, batch: Sequence[Message]) -> None:
    """Corridors: each shipment's SHIPMENT_DELAY and the CORRIDOR_CONGESTION. The corridors
    live in memory, built from their two tables after every restore; a view writes only the
    entries it changed."""
    heads, entries = io.table("corridor-heads"), io.table("corridor-shipments")
    book: dict[str, CorridorState] | None = io.cache.get("corridors")
    if book is None:
        book = io.cache["corridors"] = corridor_rules.rebuild(heads.items(), entries.items())
    for msg in batch:
        corridor, partition = msg.key, msg.partition
        held = book.get(corridor)
        clock = 0 if held is None else held.clock
        state, writes, alerts = io.stages.corridor_updates(held, corridor, msg.value, msg.timestamp)
        if state is None:
            continue
        book[corridor] = state
        for sid, view in writes:
            key = corridor_rules.corridor_key(corridor, sid)
            if view is None:
                entries.delete(key, partition)
            else:
                entries.put(key, view, partition)
        if state.clock != clock:
            heads.put(corridor, CorridorHead(corridor, state.clock), partition)
        _conclude(io, alerts)
    due = _due(io, batch)
    if due:
        _corridors_swept(io, book, due)


def _corridors_swept(
    io: StageIO, book: dict[str, CorridorState], due: list[tuple[int, int]]
) -> None:
    """The calm shipments of a due partition's corridors that have left go, and the delayed
    ones idle for the idle retention (their delays resolve, the congestion is concluded
    again); a corridor with nothing left goes as a whole (rules/retention.py)."""
    heads, entries = io.table("corridor-heads"), io.table("corridor-shipments")
    swept = io.stages.corridor_swept
    clocks = dict(due)
    partitions = {key: part for key, _, part in heads.entries()}
    for key, view, part in entries.entries():
        partitions.setdefault(key.removesuffix(f"|{view.shipment_id}"), part)
    for corridor, state in list(book.items()):
        partition = partitions.get(corridor)
        now = None if partition is None else clocks.get(partition)
        if partition is None or now is None:
            continue
        kept, alerts = swept(state, now)
        if kept is state:
            continue
        gone = [sid for sid in state.shipments if kept is None or sid not in kept.shipments]
        for sid in gone:
            corridor_rules.forget(state, sid)
            entries.delete(corridor_rules.corridor_key(corridor, sid), partition)
        if kept is None:
            del book[corridor]
            heads.delete(corridor, partition)
        elif kept.clock != state.clock:
            state.clock = kept.clock
            heads.put(corridor, CorridorHead(corridor, state.clock), partition)
        _conclude(io, alerts)


def parks(io: StageIO, batch: Sequence[Message]) -> None:
    """Parks: PARK_SILENT by the broker time of heartbeats and clock ticks."""
    table, stages = io.table("parks"), io.stages
    for msg in batch:
        partition, now = msg.partition, msg.timestamp
        for beat in msg.value:
            beat_msg: ParkMessage = beat
            if beat_msg.park:
                held = table.get(beat_msg.park)
                state, alerts = stages.park_seen(
                    held, beat_msg.park, beat_msg.published, beat_msg.event_id, partition, now
                )
                if state != held:
                    table.put(beat_msg.park, state, partition)
                _conclude(io, alerts)
                continue
            for park, seen in list(table.items()):
                if seen.partition != partition:
                    continue
                state, alerts = stages.park_tick(seen, now)
                if state != seen:
                    table.put(park, state, partition)
                _conclude(io, alerts)


def alerts(io: StageIO, batch: Sequence[Message]) -> None:
    """Alert transitions: the `emitted` table's changelog IS the alerts topic, so writing a
    transition into the table is emitting it, and after a restart the table holds exactly
    what reached the topic."""
    emitted, retention, now = io.table("emitted"), io.stages.retention, io.now()
    for msg in batch:
        for desired in msg.value:
            prev = emitted.get(desired.alert_id)
            if prev is None and retention.stale(desired.at, now):
                continue  # older than what the table forgets: not news (rules/retention.py)
            alert = transition(prev, desired)
            if alert is not None:
                emitted.put(alert.alert_id, alert, msg.partition)
    # Resolved alerts leave the worker's memory by the wall clock (the alerts topic keeps them).
    clock = [Message(m.key, m.value, m.partition, m.offset, now) for m in batch]
    _sweep(io, clock, "emitted", retention.alert_expired)
