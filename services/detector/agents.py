"""The faust agents: each one decodes, calls its stage from `stages.py` and moves the outputs
on. No rule logic lives here."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from parklink.detector.rules.emit import transition
from parklink.detector.rules.weeks import order_key
from parklink.detector.state import AlertState, ParkMessage, ShipmentView, WeekMessage
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


async def _decoded(d: Detector, stream: Any, role: str) -> AsyncIterator[tuple[Any, ParkEvent]]:
    """The stream's records as validated events; the rest goes to the DLQ."""
    deserializer = d.deserializers[role]
    async for event in stream.events():
        msg = event.message
        d.metrics.events_in.labels(topic=role).inc()
        try:
            record = deserializer.deserialize(
                event.value, topic=msg.topic, partition=msg.partition, offset=msg.offset
            )
        except SerdeError as exc:
            await d.dead_letter(msg, exc)
            continue
        started = time.perf_counter()
        yield event, record
        d.metrics.process_seconds.labels(stage=role).observe(time.perf_counter() - started)


async def _seen(d: Detector, event: Any, record: ParkEvent) -> None:
    """Pass a park's activity on to the park stage, at most once per heartbeat interval per
    park (PARK_SILENT thresholds are hours; this keeps the park stage off the hot path)."""
    published = int(event.message.timestamp * 1000)
    park = record.source_park
    last = d.heartbeats.get(park)
    if last is not None and published - last < d.heartbeat_ms:
        return
    d.heartbeats[park] = published
    await d.parks_topic.send(
        key=park, value=ParkMessage(park=park, published=published, event_id=record.event_id)
    )


async def _candidates(d: Detector, alerts: list[AlertState]) -> None:
    for alert in alerts:
        await d.candidates_topic.send(key=alert.alert_id, value=alert)


def orders_agent(d: Detector) -> Agent:
    async def orders(stream: Any) -> None:
        async for event, order in _decoded(d, stream, "orders"):
            order = cast(OrderEvent, order)
            held = d.orders.get(order.order_id)
            entity, messages = d.stages.order(held, order)
            if entity is not held:
                await d.put(d.orders, order.order_id, entity, event)
            for bucket, message in messages:
                await d.weeks_topic.send(key=bucket, value=message)
            await _seen(d, event, order)

    return orders


def capacity_agent(d: Detector) -> Agent:
    async def capacity(stream: Any) -> None:
        async for event, declared in _decoded(d, stream, "capacity"):
            declared = cast(CapacityEvent, declared)
            bucket, message = d.stages.capacity(declared)
            await d.weeks_topic.send(key=bucket, value=message)
            await _seen(d, event, declared)

    return capacity


def shipments_agent(d: Detector) -> Agent:
    async def shipments(stream: Any) -> None:
        async for event, shipment in _decoded(d, stream, "shipments"):
            shipment = cast(ShipmentEvent, shipment)
            held = d.shipments.get(shipment.shipment_id)
            entity, views = d.stages.shipment(held, shipment, now_ms())
            if entity != held:
                await d.put(d.shipments, shipment.shipment_id, entity, event)
            for corridor, view in views:
                await d.corridors_topic.send(key=corridor, value=view)
            await _seen(d, event, shipment)

    return shipments


Write = tuple[Any, str, Any]  # table, key, value
Send = tuple[Any, str, Any]  # topic, key, value
BATCH_MAX = 500
BATCH_WITHIN_S = 0.005


async def _stage(
    d: Detector, stream: Any, handle: Callable[[Any], tuple[list[Write], list[Send]]]
) -> None:
    """Run a stage that concludes alerts: its state writes are acknowledged by Kafka before
    its conclusions are sent. After a crash the restored state is then never behind an
    alert it already passed on, so replaying can only repeat conclusions (which the alert
    stage drops), never send older ones."""
    async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
        pending: list[Any] = []
        sends: list[Send] = []
        for event in batch:
            writes, out = handle(event)
            for table, key, value in writes:
                pending.append(await d.put(table, key, value, event))
            sends += out
        for fut in pending:
            await fut
        for topic, key, value in sends:
            await topic.send(key=key, value=value)


def _candidates_of(d: Detector, alerts: list[AlertState]) -> list[Send]:
    return [(d.candidates_topic, a.alert_id, a) for a in alerts]


def weeks_agent(d: Detector) -> Agent:
    def handle(event: Any) -> tuple[list[Write], list[Send]]:
        bucket, message = event.key, cast(WeekMessage, event.value)
        week, saved, alerts = d.stages.week(
            d.week_book.get(bucket), bucket, message, broker_ms(event)
        )
        d.week_book[bucket] = week
        writes: list[Write] = []
        if saved.head is not None:
            writes.append((d.weeks, bucket, saved.head))
        if saved.order is not None:
            key = order_key(bucket, saved.order.order_id)
            writes.append((d.week_orders, key, saved.order))
        return writes, _candidates_of(d, alerts)

    async def weeks(stream: Any) -> None:
        await _stage(d, stream, handle)

    return weeks


def corridors_agent(d: Detector) -> Agent:
    def handle(event: Any) -> tuple[list[Write], list[Send]]:
        corridor, view = event.key, cast(ShipmentView, event.value)
        held = d.corridors.get(corridor)
        state, alerts = d.stages.corridor(held, corridor, view, broker_ms(event))
        writes = [] if state is held else [(d.corridors, corridor, state)]
        return writes, _candidates_of(d, alerts)

    async def corridors(stream: Any) -> None:
        await _stage(d, stream, handle)

    return corridors


def parks_agent(d: Detector) -> Agent:
    def handle(event: Any) -> tuple[list[Write], list[Send]]:
        msg, partition = cast(ParkMessage, event.value), event.message.partition
        writes: list[Write] = []
        alerts: list[AlertState] = []
        if msg.park:
            held = d.parks.get(msg.park)
            state, alerts = d.stages.park_seen(
                held, msg.park, msg.published, msg.event_id, partition, broker_ms(event)
            )
            if state != held:
                writes.append((d.parks, msg.park, state))
            return writes, _candidates_of(d, alerts)
        for park, held in list(d.parks.items()):
            if held.partition != partition:
                continue
            state, found = d.stages.park_tick(held, broker_ms(event))
            if state != held:
                writes.append((d.parks, park, state))
            alerts += found
        return writes, _candidates_of(d, alerts)

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
            await d.put(d.emitted, alert.alert_id, alert, event)
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
