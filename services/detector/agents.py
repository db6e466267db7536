"""The faust agents: each one decodes, calls its stage from `stages.py` and moves the outputs
on. No rule logic lives here."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from parklink.detector.rules.emit import transition
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
                d.orders[order.order_id] = entity
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
            entity, delays, views = d.stages.shipment(held, shipment, now_ms())
            if entity != held:
                d.shipments[shipment.shipment_id] = entity
            await _candidates(d, delays)
            for corridor, view in views:
                await d.corridors_topic.send(key=corridor, value=view)
            await _seen(d, event, shipment)

    return shipments


def weeks_agent(d: Detector) -> Agent:
    async def weeks(stream: Any) -> None:
        async for event in stream.events():
            bucket, message = event.key, event.value
            message = cast(WeekMessage, message)
            held = d.weeks.get(bucket)
            state, alerts = d.stages.week(held, bucket, message, now_ms())
            if state is not held:
                d.weeks[bucket] = state
            await _candidates(d, alerts)

    return weeks


def corridors_agent(d: Detector) -> Agent:
    async def corridors(stream: Any) -> None:
        async for event in stream.events():
            corridor, view = event.key, event.value
            view = cast(ShipmentView, view)
            held = d.corridors.get(corridor)
            state, alerts = d.stages.corridor(held, corridor, view, now_ms())
            if state is not held:
                d.corridors[corridor] = state
            await _candidates(d, alerts)

    return corridors


def parks_agent(d: Detector) -> Agent:
    async def parks(stream: Any) -> None:
        async for event in stream.events():
            msg, partition = event.value, event.message.partition
            msg = cast(ParkMessage, msg)
            if msg.park:
                held = d.parks.get(msg.park)
                state, alerts = d.stages.park_seen(
                    held, msg.park, msg.published, msg.event_id, partition, now_ms()
                )
                if state != held:
                    d.parks[msg.park] = state
                await _candidates(d, alerts)
                continue
            for park, held in list(d.parks.items()):
                if held.partition != partition:
                    continue
                state, alerts = d.stages.park_tick(held, msg.tick)
                if state != held:
                    d.parks[park] = state
                await _candidates(d, alerts)

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
            d.emitted[alert.alert_id] = alert
            d.metrics.alerts_out.labels(
                type=alert.type, severity=alert.severity.value, status=alert.status.value
            ).inc()
            log.info("%s %s %s", alert.status.value, alert.severity.value, alert.alert_id)

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
