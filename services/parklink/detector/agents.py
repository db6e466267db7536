"""The stage handlers: each one takes a batch of its input messages, calls its pure stage
from `stages.py` and moves the results into its tables and outputs, through the narrow
`StageIO` of `ports.py`. `topology.py` says which handler reads what; no rule logic and no
Kafka plumbing lives here."""

from __future__ import annotations

from collections.abc import Sequence

from parklink.detector.ports import Message, StageIO
from parklink.detector.rules import admission, weeks
from parklink.detector.rules.emit import transition
from parklink.detector.state import AlertState, ParkMessage, Week
from parklink.eventkit.contracts import CapacityEvent, OrderEvent, ParkEvent, ShipmentEvent


def _seen(io: StageIO, msg: Message, record: ParkEvent) -> None:
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


def _refused(io: StageIO, msg: Message, refusal: admission.Refusal | None) -> bool:
    if refusal is None:
        return False
    io.reject(msg, refusal.reason, refusal.message)
    return True


def orders(io: StageIO, batch: Sequence[Message]) -> None:
    """Orders by order_id: the latest state of each, passed on to its weeks."""
    table, stages = io.table("orders"), io.stages
    for msg in batch:
        order: OrderEvent = msg.value
        held = table.get(order.order_id)
        if _refused(io, msg, admission.admit(order, msg.timestamp, stages.bounds)):
            continue
        if _refused(io, msg, admission.order_binding(held, order)):
            continue
        entity, messages = stages.order(held, order, msg.offset, io.committed(msg.partition))
        if entity is not held:
            table.put(order.order_id, entity, msg.partition)
        for bucket, message in messages:
            io.send("weeks", bucket, message)
        _seen(io, msg, order)


def capacity(io: StageIO, batch: Sequence[Message]) -> None:
    """Capacity declarations, passed on to their category-week."""
    for msg in batch:
        declared: CapacityEvent = msg.value
        if _refused(io, msg, admission.admit(declared, msg.timestamp, io.stages.bounds)):
            continue
        io.send("weeks", *io.stages.capacity(declared))
        _seen(io, msg, declared)


def shipments(io: StageIO, batch: Sequence[Message]) -> None:
    """Shipments by shipment_id: the latest state of each; what a corridor needs to know."""
    table, stages = io.table("shipments"), io.stages
    now = io.now()
    for msg in batch:
        shipment: ShipmentEvent = msg.value
        held = table.get(shipment.shipment_id)
        if _refused(io, msg, admission.admit(shipment, msg.timestamp, stages.bounds)):
            continue
        if _refused(io, msg, admission.shipment_binding(held, shipment)):
            continue
        entity, views = stages.shipment(held, shipment, now)
        if entity != held:
            table.put(shipment.shipment_id, entity, msg.partition)
        for corridor, view in views:
            io.send("corridors", corridor, view)
        _seen(io, msg, shipment)


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


def corridors(io: StageIO, batch: Sequence[Message]) -> None:
    """Corridors: each shipment's SHIPMENT_DELAY and the CORRIDOR_CONGESTION."""
    table = io.table("corridors")
    for msg in batch:
        held = table.get(msg.key)
        state, alerts = io.stages.corridor_updates(held, msg.key, msg.value, msg.timestamp)
        if state is not held and state is not None:
            table.put(msg.key, state, msg.partition)
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
    emitted = io.table("emitted")
    for msg in batch:
        for desired in msg.value:
            alert = transition(emitted.get(desired.alert_id), desired)
            if alert is not None:
                emitted.put(alert.alert_id, alert, msg.partition)
