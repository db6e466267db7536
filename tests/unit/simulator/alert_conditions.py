"""The conditions of the five disruption rules (docs/architecture.md), restated plainly over
a list of emitted events, so the tests check that the simulator's events really meet them
(not how the detector implements them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import date, timedelta

from parklink.eventkit.contracts import (
    OPEN_ORDER_STATUSES,
    CapacityEvent,
    OrderEvent,
    ShipmentEvent,
    ShipmentStatus,
    capacity_key,
)
from parklink.simulator.world import Emission, monday


def latest_shipments(emissions: Iterable[Emission]) -> dict[str, ShipmentEvent]:
    latest: dict[str, ShipmentEvent] = {}
    for e in emissions:
        ev = e.event
        if isinstance(ev, ShipmentEvent):
            have = latest.get(ev.shipment_id)
            if have is None or ev.event_time >= have.event_time:
                latest[ev.shipment_id] = ev
    return latest


def delayed(emissions: Iterable[Emission], hours: float = 24) -> dict[str, ShipmentEvent]:
    """Shipments whose latest estimate is more than `hours` past plan (SHIPMENT_DELAY)."""
    out = {}
    for sid, ev in latest_shipments(emissions).items():
        if ev.status in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED):
            continue
        if ev.estimated_arrival and ev.estimated_arrival - ev.planned_arrival > timedelta(
            hours=hours
        ):
            out[sid] = ev
    return out


def open_demand(emissions: Iterable[Emission]) -> dict[str, float]:
    """supplier|category|week -> quantity of orders whose latest status is open."""
    latest: dict[str, OrderEvent] = {}
    for e in emissions:
        ev = e.event
        if isinstance(ev, OrderEvent):
            have = latest.get(ev.order_id)
            if have is None or ev.event_time >= have.event_time:
                latest[ev.order_id] = ev
    demand: dict[str, float] = {}
    for ev in latest.values():
        if ev.status in OPEN_ORDER_STATUSES:
            key = capacity_key(ev.supplier_park, ev.category, monday(ev.due_date))
            demand[key] = demand.get(key, 0.0) + ev.quantity
    return demand


def declarations(emissions: Iterable[Emission]) -> dict[str, list[CapacityEvent]]:
    out: dict[str, list[CapacityEvent]] = {}
    for e in emissions:
        if isinstance(e.event, CapacityEvent):
            out.setdefault(e.event.key(), []).append(e.event)
    return out


def drops(emissions: Iterable[Emission], ratio: float = 0.7) -> dict[str, tuple[float, float]]:
    """Keys where a declaration fell below `ratio` x the one before (CAPACITY_DROP)."""
    out = {}
    for key, decls in declarations(emissions).items():
        ordered = sorted(decls, key=lambda d: d.event_time)
        for before, after in itertools.pairwise(ordered):
            if after.actual_capacity < ratio * before.actual_capacity:
                out[key] = (before.actual_capacity, after.actual_capacity)
    return out


def shortfalls(emissions: list[Emission]) -> dict[str, tuple[float, CapacityEvent]]:
    """Keys whose open demand exceeds the latest declared actual capacity."""
    demand = open_demand(emissions)
    out = {}
    for key, decls in declarations(emissions).items():
        latest = max(decls, key=lambda d: d.event_time)
        if demand.get(key, 0.0) > latest.actual_capacity:
            out[key] = (demand[key], latest)
    return out


def week_of(day: date) -> date:
    return monday(day)
