"""The faust agents: each one decodes, calls its stage from `stages.py` and moves the outputs
on. No rule logic lives here."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from parklink.detector.rules.emit import transition
from parklink.detector.rules.weeks import order_key
from parklink.detector.state import (
    AlertState,
    CorridorUpdates,
    ParkMessage,
    ShipmentView,
    WeekMessage,
    WeekUpdates,
)
from parklink.eventkit.contracts import (
    CapacityEvent,
    OrderEvent,
    ParkEvent,
    ShipmentEvent,
)
from parklink.eventkit.serde import SerdeError

if TYPE_CHECKING:
    from parklink.detector.app import Detector

log = logging.getLogger(__name__)

Agent = Callable[[Any], Awaitable[None]]


def now_ms() -> int:
    return int(time.time() * 1000)


def broker_ms(event: Any) -> int:
    """The broker's append time of a message on one of the detector's own topics: the
    moment a stage concludes something, ordered within each partition."""
    return int(event.message.timestamp * 1000)


BATCH_MAX = 500


class Outbox:
    """What a batch of messages changes and passes on. Table entries are set at once (a
    later message of the batch sees them) and each key's last value is written once; the
    messages for the next stage are grouped into one per destination key."""

    def __init__(self) -> None:
        self.writes: dict[tuple[int, str], tuple[Any, str, Any, int]] = {}
        self.weeks: dict[str, list[WeekMessage]] = {}
        self.corridors: dict[str, list[ShipmentView]] = {}
        self.parks: list[ParkMessage] = []
        self.alerts: list[AlertState] = []

    def put(self, table: Any, key: str, value: Any, partition: int) -> None:
        table.data[key] = value
        self.writes[id(table), key] = (table, key, value, partition)

    def week(self, bucket: str, message: WeekMessage) -> None:
        self.weeks.setdefault(bucket, []).append(message)

    def corridor(self, corridor: str, view: ShipmentView) -> None:
        self.corridors.setdefault(corridor, []).append(view)


async def _store(d: Detector, out: Outbox) -> list[Any]:
    return [
        await d.put(table, key, value, partition)
        for table, key, value, partition in out.writes.values()
    ]


async def _pass_on(d: Detector, out: Outbox) -> None:
    for bucket, updates in out.weeks.items():
        await d.send(d.weeks_topic, bucket, WeekUpdates(tuple(updates)))
    for corridor, views in out.corridors.items():
        await d.send(d.corridors_topic, corridor, CorridorUpdates(tuple(views)))
    for park in out.parks:
        await d.send(d.parks_topic, park.park, park)
    for alert in out.alerts:
        await d.send(d.candidates_topic, alert.alert_id, alert)


async def _decode(d: Detector, event: Any, role: str) -> ParkEvent | None:
    """The record as a validated event, or None once it is in the DLQ."""
    msg = event.message
    d.metrics.events_in.labels(topic=role).inc()
    try:
        record: ParkEvent = d.deserializers[role].deserialize(
            event.value, topic=msg.topic, partition=msg.partition, offset=msg.offset
        )
    except SerdeError as exc:
        await d.dead_letter(msg, exc)
        return None
    return record


def _seen(d: Detector, event: Any, record: ParkEvent, out: Outbox) -> None:
    """Pass a park's activity on to the park stage, at most once per heartbeat interval per
    park (PARK_SILENT thresholds are hours; this keeps the park stage off the hot path)."""
    published = int(event.message.timestamp * 1000)
    park = record.source_park
    last = d.heartbeats.get(park)
    if last is not None and published - last < d.heartbeat_ms:
        return
    d.heartbeats[park] = published
    out.parks.append(ParkMessage(park=park, published=published, event_id=record.event_id))


Handle = Callable[[Any, Any, Outbox], None]


async def _source(d: Detector, stream: Any, role: str, handle: Handle) -> None:
    """Run a stage over a park topic in batches. Its events are acknowledged only once the
    whole batch is queued in the producer, whose flush precedes every offset commit; a
    replay re-sends each entity's current state, which the next stages take as a repeat."""
    observe = d.metrics.process_seconds.labels(stage=role).observe
    async for batch in stream.take_events(BATCH_MAX, within=d.settings.detector_batch_seconds):
        out = Outbox()
        for event in batch:
            record = await _decode(d, event, role)
            if record is None:
                continue
            started = time.perf_counter()
            handle(event, record, out)
            _seen(d, event, record, out)
            observe(time.perf_counter() - started)
        await _store(d, out)
        await _pass_on(d, out)


def orders_agent(d: Detector) -> Agent:
    def handle(event: Any, order: OrderEvent, out: Outbox) -> None:
        msg = event.message
        held = d.orders.get(order.order_id)
        entity, messages = d.stages.order(held, order, msg.offset, d.committed(msg.tp))
        if entity is not held:
            out.put(d.orders, order.order_id, entity, msg.partition)
        for bucket, message in messages:
            out.week(bucket, message)

    async def orders(stream: Any) -> None:
        await _source(d, stream, "orders", handle)

    return orders


def capacity_agent(d: Detector) -> Agent:
    def handle(event: Any, declared: CapacityEvent, out: Outbox) -> None:
        out.week(*d.stages.capacity(declared))

    async def capacity(stream: Any) -> None:
        await _source(d, stream, "capacity", handle)

    return capacity


def shipments_agent(d: Detector) -> Agent:
    def handle(event: Any, shipment: ShipmentEvent, out: Outbox) -> None:
        held = d.shipments.get(shipment.shipment_id)
        entity, views = d.stages.shipment(held, shipment, now_ms())
        if entity != held:
            out.put(d.shipments, shipment.shipment_id, entity, event.message.partition)
        for corridor, view in views:
            out.corridor(corridor, view)

    async def shipments(stream: Any) -> None:
        await _source(d, stream, "shipments", handle)

    return shipments


async def _stage(d: Detector, stream: Any, handle: Callable[[Any, Outbox], None]) -> None:
    """Run a stage that concludes alerts: its state writes are acknowledged by Kafka before
    its conclusions are sent. After a crash the restored state is then never behind an
    alert it already passed on, so replaying can only repeat conclusions (which the alert
    stage drops), never send older ones."""
    async for batch in stream.take_events(BATCH_MAX, within=d.settings.detector_batch_seconds):
        out = Outbox()
        for event in batch:
            handle(event, out)
        for fut in await _store(d, out):
            await fut
        await _pass_on(d, out)


def weeks_agent(d: Detector) -> Agent:
    def handle(event: Any, out: Outbox) -> None:
        bucket, partition = event.key, event.message.partition
        week, saved, alerts = d.stages.week_updates(
            d.week_book.get(bucket),
            bucket,
            cast(WeekUpdates, event.value).updates,
            broker_ms(event),
        )
        if week is not None:
            d.week_book[bucket] = week
        for writes in saved:
            if writes.head is not None:
                out.put(d.weeks, bucket, writes.head, partition)
            if writes.order is not None:
                key = order_key(bucket, writes.order.order_id)
                out.put(d.week_orders, key, writes.order, partition)
        out.alerts += alerts

    async def weeks(stream: Any) -> None:
        await _stage(d, stream, handle)

    return weeks


def corridors_agent(d: Detector) -> Agent:
    def handle(event: Any, out: Outbox) -> None:
        corridor = event.key
        held = d.corridors.get(corridor)
        state, alerts = d.stages.corridor_updates(
            held, corridor, cast(CorridorUpdates, event.value).views, broker_ms(event)
        )
        if state is not held:
            out.put(d.corridors, corridor, state, event.message.partition)
        out.alerts += alerts

    async def corridors(stream: Any) -> None:
        await _stage(d, stream, handle)

    return corridors


def parks_agent(d: Detector) -> Agent:
    def handle(event: Any, out: Outbox) -> None:
        msg, partition = cast(ParkMessage, event.value), event.message.partition
        if msg.park:
            held = d.parks.get(msg.park)
            state, alerts = d.stages.park_seen(
                held, msg.park, msg.published, msg.event_id, partition, broker_ms(event)
            )
            if state != held:
                out.put(d.parks, msg.park, state, partition)
            out.alerts += alerts
            return
        for park, held in list(d.parks.items()):
            if held.partition != partition:
                continue
            state, found = d.stages.park_tick(held, broker_ms(event))
            if state != held:
                out.put(d.parks, park, state, partition)
            out.alerts += found

    async def parks(stream: Any) -> None:
        await _stage(d, stream, handle)

    return parks


def alerts_agent(d: Detector) -> Agent:
    """Alert transitions: the `emitted` table's changelog IS the alerts topic, so writing the
    transition into the table is emitting it, and after a restart the table holds exactly
    what reached the topic."""

    async def alerts(stream: Any) -> None:
        async for event in stream.events():
            desired = event.value
            desired = cast(AlertState, desired)
            alert = transition(d.emitted.get(desired.alert_id), desired)
            if alert is None:
                continue
            await d.put(d.emitted, alert.alert_id, alert, event.message.partition)
            d.metrics.alerts_out.labels(
                type=alert.type, severity=alert.severity.value, status=alert.status.value
            ).inc()
            log.info(
                "%s %s %s (%s, %d shipments)",
                alert.status.value,
                alert.severity.value,
                alert.alert_id,
                alert.updated_at.isoformat(),
                len(alert.impacted_shipments),
            )

    return alerts


def tick_timer(d: Detector) -> Callable[[], Awaitable[None]]:
    """Wall-clock ticks for PARK_SILENT, one per park-stage partition this worker owns; the
    tick goes through the topic so that the table is only changed inside stream processing."""

    async def tick() -> None:
        now = now_ms()
        for tp in d.app.assignor.assigned_actives():
            if tp.topic == d.parks_topic.get_topic_name():
                await d.parks_topic.send(
                    key="", value=ParkMessage(tick=now), partition=tp.partition
                )

    return tick
