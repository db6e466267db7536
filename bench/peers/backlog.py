"""The shipments backlog the peer benchmark plays to every stream processor, and the plain
Python reference of the two shipment rules that says what each of them must conclude.

The backlog is deterministic for a seed and a base time: 19,800 shipments on the simulator's
15 corridors, about 5 updates each (BOOKED ... DELIVERED, with estimated-arrival updates),
about 10 % of them more than 24 h late at some point (some more than 72 h), repeated events
(same event_id) and updates that reach the topic after a newer update of the same shipment.
Some shipments are still under way when the backlog ends; on each corridor a set number of
them ends late, so the final alerts hold corridors without, with WARNING and with CRITICAL
congestion."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from parklink.eventkit.contracts import ShipmentEvent, ShipmentStatus
from parklink.simulator.geography import CORRIDORS, Corridor

SHIPMENTS = 19_800
EVENTS = 100_000
SEED = 20_261_201
BOOKING_SPAN = timedelta(days=5)
"""Bookings are spread over this span from the base time; updates follow each booking."""
SPAN = BOOKING_SPAN + timedelta(hours=max(c.transit_hours for c in CORRIDORS) * 1.2 + 12)
"""How far after the base time the latest event_time can be."""

# How many shipments of each corridor (in the order of geography.CORRIDORS) are still under
# way and late when the backlog ends: 0-2 no congestion, 3-4 WARNING, 5 and more CRITICAL.
LATE_AT_END = (0, 1, 2, 3, 4, 5, 6, 7, 12, 2, 3, 5, 0, 4, 9)

DELAYED_SHARE = 0.10
OPEN_SHARE = 0.12
CANCELLED_SHARE = 0.04
OUT_OF_ORDER_SHARE = 0.05
DUPLICATE_WINDOW = 2_000
"""A repeated event reaches the topic up to this many records after the original."""

DELAY_WARNING_H = 24.0
DELAY_CRITICAL_H = 72.0
CONGESTION_WARNING = 3
CONGESTION_CRITICAL = 5

Fired = tuple[str, str, str]
"""(alert type, subject, severity) of an alert that is FIRING."""

_MS = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Backlog:
    events: list[ShipmentEvent]
    """In the order they are produced."""
    duplicates: int
    late_updates: int
    """Records that reach the topic after a newer (by event_time) update of the shipment."""


@dataclass
class _Plan:
    """One shipment: the statuses of its updates and the delay (hours) each update reports."""

    statuses: list[ShipmentStatus]
    delays: list[float]
    swap_last: bool = False


def _hours(value: float) -> timedelta:
    return timedelta(hours=value)


def _on_time(rng: random.Random) -> float:
    return round(rng.uniform(-8.0, 12.0), 2)


def _late(rng: random.Random) -> float:
    """A delay above 24 h: about a third of them above 72 h."""
    if rng.random() < 0.35:
        return round(rng.uniform(72.5, 240.0), 2)
    return round(rng.uniform(24.5, 71.5), 2)


def _route(corridor: Corridor, rng: random.Random) -> list[ShipmentStatus]:
    statuses = [ShipmentStatus.BOOKED, ShipmentStatus.DEPARTED]
    if rng.random() < 0.45:
        statuses.append(ShipmentStatus.IN_TRANSIT)
    if corridor.checkpoints:
        held = rng.random() < 0.2
        statuses.append(ShipmentStatus.CUSTOMS_HOLD if held else ShipmentStatus.AT_BORDER)
    statuses += [ShipmentStatus.ARRIVED, ShipmentStatus.DELIVERED]
    return statuses


def _plan(corridor: Corridor, rng: random.Random, late_at_end: bool) -> _Plan:
    """The shipment's updates: finished (delivered or cancelled) or still under way."""
    route = _route(corridor, rng)
    delays = [_on_time(rng) for _ in route]
    if late_at_end:
        cut = rng.randint(2, len(route) - 2)
        statuses = route[:cut]
        delays = delays[:cut]
        delays[-1] = _late(rng)
        edge = rng.random()
        if edge < 0.1:
            delays[-1] = DELAY_CRITICAL_H  # exactly 72 h: WARNING, not CRITICAL
        elif edge < 0.2:
            delays[-1] = DELAY_WARNING_H + 1 / 3_600_000  # 1 ms above 24 h: WARNING
        # the update before the last one was on time: a processor that takes the order of
        # the topic for the order of events would resolve the delay
        plan = _Plan(statuses, delays, swap_last=rng.random() < 0.3)
        return plan
    roll = rng.random()
    if roll < CANCELLED_SHARE:
        cut = rng.randint(1, 3)
        statuses = [*route[:cut], ShipmentStatus.CANCELLED]
        delays = delays[: cut + 1]
        if rng.random() < DELAYED_SHARE * 3:
            delays[-2] = _late(rng)  # cancelled while late: the delay resolves
        return _Plan(statuses, delays)
    if roll < CANCELLED_SHARE + OPEN_SHARE:
        cut = rng.randint(2, len(route) - 2)
        statuses, delays = route[:cut], delays[:cut]
        if rng.random() < DELAYED_SHARE * 2 and cut >= 3:
            # late, then back within 24 h (sometimes exactly 24 h: not late)
            delays[-2] = _late(rng)
            delays[-1] = DELAY_WARNING_H if rng.random() < 0.2 else _on_time(rng)
            # the late update reaching the topic last must not make it fire
            return _Plan(statuses, delays, swap_last=rng.random() < 0.5)
        return _Plan(statuses, delays, swap_last=rng.random() < OUT_OF_ORDER_SHARE)
    if rng.random() < DELAYED_SHARE:
        # late from the border on, escalating or easing, then delivered late
        at = max(2, len(route) - 3)
        late = _late(rng)
        for i in range(at, len(route)):
            delays[i] = late
            late = _late(rng) if rng.random() < 0.3 else late
    return _Plan(route, delays, swap_last=rng.random() < OUT_OF_ORDER_SHARE)


def _event_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _events_of(
    index: int, corridor: Corridor, plan: _Plan, booked: datetime, rng: random.Random
) -> list[ShipmentEvent]:
    planned = booked + _hours(corridor.transit_hours + 12)
    shipment_id = f"SHP-{index:05d}"
    orders = [f"PO-{index:05d}-{n}" for n in range(1 + (index % 3 == 0))]
    checkpoint = corridor.checkpoints[0] if corridor.checkpoints else None
    out: list[ShipmentEvent] = []
    at = booked
    steps = len(plan.statuses)
    for n, (status, delay) in enumerate(zip(plan.statuses, plan.delays, strict=True)):
        at = booked + _hours(corridor.transit_hours * 1.1 * n / max(1, steps - 1)) + n * _MS
        here = (
            {"name": checkpoint.name, "lat": checkpoint.lat, "lon": checkpoint.lon}
            if checkpoint is not None
            and status in (ShipmentStatus.AT_BORDER, ShipmentStatus.CUSTOMS_HOLD)
            else None
        )
        arriving = status in (ShipmentStatus.ARRIVED, ShipmentStatus.DELIVERED)
        out.append(
            ShipmentEvent(
                event_id=_event_uuid(rng),
                event_time=at,
                source_park=corridor.destination if arriving else corridor.origin,
                shipment_id=shipment_id,
                order_ids=orders,
                status=status,
                mode=corridor.mode,
                origin_park=corridor.origin,
                destination_park=corridor.destination,
                corridor=corridor.corridor_id,
                checkpoint=here,
                planned_arrival=planned,
                estimated_arrival=planned + timedelta(milliseconds=round(delay * 3_600_000)),
            )
        )
    return out


def generate(
    base: datetime, seed: int = SEED, shipments: int = SHIPMENTS, total: int = EVENTS
) -> Backlog:
    """The backlog, in production order: events roughly by event_time, some shipments' last
    two updates the other way round, and repeats of earlier events filling up to `total`."""
    rng = random.Random(seed)
    weights = [c.weight for c in CORRIDORS]
    quota = dict(zip((c.corridor_id for c in CORRIDORS), LATE_AT_END, strict=True))
    keyed: list[tuple[int, int, ShipmentEvent]] = []
    late_updates = 0
    step = BOOKING_SPAN / shipments
    for index in range(shipments):
        corridor = rng.choices(CORRIDORS, weights)[0]
        late_at_end = quota[corridor.corridor_id] > 0
        if late_at_end:
            quota[corridor.corridor_id] -= 1
        plan = _plan(corridor, rng, late_at_end)
        events = _events_of(index, corridor, plan, base + index * step, rng)
        keys = [_millis(e.event_time) for e in events]
        if plan.swap_last and len(events) >= 2:
            keys[-1], keys[-2] = keys[-2], keys[-1]
            late_updates += 1
        keyed += [(k, len(keyed) + n, e) for n, (k, e) in enumerate(zip(keys, events, strict=True))]
    keyed.sort(key=lambda item: (item[0], item[1]))
    distinct = len(keyed)
    if distinct > total:
        raise ValueError(f"{distinct} distinct events already exceed the {total} asked for")
    order = [e for _, _, e in keyed]
    repeats = total - distinct
    for _ in range(repeats):
        source = rng.randrange(distinct)
        where = min(len(order), source + rng.randint(1, DUPLICATE_WINDOW))
        order.insert(where, order[source])
    return Backlog(events=order, duplicates=repeats, late_updates=late_updates)


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class _Latest:
    version: tuple[int, str]
    status: ShipmentStatus
    planned: int
    corridor: str
    eta_version: tuple[int, str] | None
    eta: int | None


def delay_severity(
    status: ShipmentStatus, planned: int, eta: int | None, warning_h: float, critical_h: float
) -> str | None:
    """SHIPMENT_DELAY's severity for a shipment's latest state, None when not firing."""
    if status in (ShipmentStatus.DELIVERED, ShipmentStatus.CANCELLED) or eta is None:
        return None
    late_h = (eta - planned) / 3_600_000
    if late_h > critical_h:
        return "CRITICAL"
    if late_h > warning_h:
        return "WARNING"
    return None


def reference(
    events: Iterable[ShipmentEvent],
    warning_h: float = DELAY_WARNING_H,
    critical_h: float = DELAY_CRITICAL_H,
    congestion_warning: int = CONGESTION_WARNING,
    congestion_critical: int = CONGESTION_CRITICAL,
) -> set[Fired]:
    """The FIRING alerts once every event is in: SHIPMENT_DELAY from each shipment's latest
    event (by event_time, then event_id) and its latest estimated arrival, and
    CORRIDOR_CONGESTION from how many shipments of a corridor have a firing delay."""
    seen: set[str] = set()
    latest: dict[str, _Latest] = {}
    for e in events:
        if e.event_id in seen:
            continue
        seen.add(e.event_id)
        version = (_millis(e.event_time), e.event_id)
        eta = None if e.estimated_arrival is None else _millis(e.estimated_arrival)
        held = latest.get(e.shipment_id)
        if held is None:
            latest[e.shipment_id] = _Latest(
                version,
                e.status,
                _millis(e.planned_arrival),
                e.corridor,
                None if eta is None else version,
                eta,
            )
            continue
        if version > held.version:
            held.version, held.status = version, e.status
            held.planned, held.corridor = _millis(e.planned_arrival), e.corridor
        if eta is not None and (held.eta_version is None or version > held.eta_version):
            held.eta_version, held.eta = version, eta
    fired: set[Fired] = set()
    delayed: Counter[str] = Counter()
    for shipment_id, ship in latest.items():
        severity = delay_severity(ship.status, ship.planned, ship.eta, warning_h, critical_h)
        if severity is not None:
            fired.add(("SHIPMENT_DELAY", shipment_id, severity))
            delayed[ship.corridor] += 1
    for corridor, count in delayed.items():
        if count >= congestion_critical:
            fired.add(("CORRIDOR_CONGESTION", corridor, "CRITICAL"))
        elif count >= congestion_warning:
            fired.add(("CORRIDOR_CONGESTION", corridor, "WARNING"))
    return fired
