"""The world model: a deterministic discrete-event simulation of the alliance's orders,
shipments and weekly capacity, in simulated time. No I/O: `advance(until)` returns the events
that happened up to `until`, in order; the runner publishes them.

Two clocks: the simulated clock (business times: departures, planned and estimated arrivals,
due dates, capacity weeks) runs `speed` times faster than the wall clock; each event's
`event_time` is the wall-clock moment its simulated time maps to, so rules that look at
wall-clock time (a park's silence) see real time and late events keep their original time.
With `simulated_event_time` (a soak against a detector sped up the same way) the
`event_time` is the simulated time itself, so entities age as the simulated months pass."""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from parklink.eventkit.contracts import (
    OPEN_ORDER_STATUSES,
    CapacityEvent,
    Checkpoint,
    OrderEvent,
    OrderStatus,
    ParkEvent,
    ShipmentEvent,
    ShipmentStatus,
    capacity_key,
)
from parklink.simulator.geography import CORRIDORS, PARKS, PARKS_BY_ID, Corridor, Product

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
LEAD_DAYS = (3.0, 10.0)  # production lead time before departure
HORIZON_WEEKS = 6  # capacity is declared this many weeks ahead
FIXED_RUN = uuid.UUID(int=0)


def name_uuid(namespace: uuid.UUID, n: int) -> str:
    """`str(uuid.uuid5(namespace, str(n)))`, the same text for a quarter of the work (the
    simulator makes one per event)."""
    name = namespace.bytes + str(n).encode()
    digest = bytearray(hashlib.sha1(name, usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def monday(moment: datetime | date) -> date:
    day = moment.date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def events_per_order(corridor: Corridor) -> int:
    """PLACED, CONFIRMED, BOOKED, DEPARTED, AT_BORDER + IN_TRANSIT per checkpoint (one
    IN_TRANSIT when there is none), ARRIVED, DELIVERED, FULFILLED."""
    return 7 + 2 * max(1, len(corridor.checkpoints))


def mean_events_per_order() -> float:
    total = sum(c.weight for c in CORRIDORS)
    return sum(c.weight * events_per_order(c) for c in CORRIDORS) / total


def orders_per_hour(rate: float, speed: float) -> float:
    """Orders per simulated hour that make the world emit about `rate` events per wall second."""
    return rate * 3600.0 / speed / mean_events_per_order()


@dataclass(frozen=True)
class WorldConfig:
    seed: int
    start: datetime  # simulated time at wall-clock start; also the wall-clock start
    speed: float = 600.0  # simulated seconds per wall second
    rate: float = 20.0  # target events per wall second
    run_id: uuid.UUID = FIXED_RUN  # makes ids unique per run; random in production
    # event_time is the simulated time itself, not the wall-clock moment it maps to: for a
    # detector whose clock is sped up the same way (same origin and speed, eventkit/clock.py)
    simulated_event_time: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.speed <= 0 or self.rate <= 0:
            raise ValueError("speed and rate must be positive")


@dataclass(frozen=True)
class Emission:
    at: datetime  # simulated time
    kind: str  # orders | shipments | capacity
    event: ParkEvent

    @property
    def park(self) -> str:
        return self.event.source_park


@dataclass(frozen=True)
class Injection:
    """What a scenario did, for logs, the status API and tests."""

    scenario: str
    at: datetime
    target: str
    summary: str
    expected_alerts: tuple[str, ...]
    until: datetime | None = None


@dataclass
class OrderRecord:
    order_id: str
    supplier: str
    buyer: str
    category: str
    quantity: float
    due_date: date
    status: OrderStatus | None = None  # latest emitted

    @property
    def week(self) -> date:
        return monday(self.due_date)


Action = Callable[[datetime], list[Emission]]


class World:
    def __init__(self, config: WorldConfig) -> None:
        self.config = config
        self.start = config.start.astimezone(UTC)
        self.speed = config.speed
        self.rng = random.Random(config.seed)  # noqa: S311 (a seeded simulation, not secrets)
        # Scenarios draw from their own stream, so the baseline is the same with or without.
        self.scenario_rng = random.Random(f"{config.seed}/scenarios")  # noqa: S311
        self.tag = config.run_id.hex[:6].upper()
        self.orders_per_hour = orders_per_hour(config.rate, config.speed)
        self.now = self.start - self.warmup
        self.declared: dict[str, tuple[float, float | None]] = {}
        self.orders: dict[str, OrderRecord] = {}
        self.injections: list[Injection] = []
        self.occurrences: dict[str, int] = {}
        self._heap: list[tuple[datetime, int, Action]] = []
        self._seq = 0
        self._ids = 0
        self._counters: dict[str, int] = {}
        self._holds: dict[str, tuple[datetime, datetime]] = {}
        self._held: dict[str, list[Emission]] = {}
        self._lanes = [c for c in CORRIDORS]
        self._lane_weights = [c.weight for c in CORRIDORS]
        self.baseline_capacity = self._baseline_capacity()
        self.schedule(self.now, self._order_arrival)
        self.schedule(self.start, self._declare_horizon)

    # -- clocks and ids ---------------------------------------------------------------------
    @property
    def warmup(self) -> timedelta:
        """Orders are generated from this long before the start, so that shipments are
        already under way when the network starts watching (their earlier events are not
        published)."""
        longest = max(c.transit_hours for c in CORRIDORS)
        return timedelta(days=LEAD_DAYS[1]) + timedelta(hours=longest)

    def wall_time(self, sim: datetime) -> datetime:
        """The wall-clock moment a simulated time maps to (the events' `event_time`)."""
        return self.start + (sim - self.start) / self.speed

    def sim_time(self, wall_elapsed_s: float) -> datetime:
        return self.start + timedelta(seconds=wall_elapsed_s * self.speed)

    def _event_id(self) -> str:
        self._ids += 1
        return name_uuid(self.config.run_id, self._ids)

    def new_id(self, prefix: str) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        return f"{prefix}-{self.tag}-{n:06d}"

    # -- scheduling -------------------------------------------------------------------------
    def schedule(self, at: datetime, action: Action) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (at, self._seq, action))

    def schedule_event(
        self, at: datetime, kind: str, model: type[ParkEvent], **fields: Any
    ) -> None:
        if at < self.start:
            return  # warm-up: happened before the network was watching

        def emit(when: datetime) -> list[Emission]:
            stamp = when if self.config.simulated_event_time else self.wall_time(when)
            event = model(event_id=self._event_id(), event_time=stamp, **fields)
            return [Emission(when, kind, event)]

        self.schedule(at, emit)

    def advance(self, until: datetime, limit: int | None = None) -> list[Emission]:
        """Run the world up to `until` (simulated); the events that are published, in order.
        With `limit`, it stops once that many are out (the world then stands at the last
        one's time, and the next call goes on from there)."""
        out: list[Emission] = []
        while self._heap and self._heap[0][0] <= until:
            if limit is not None and len(out) >= limit:
                return out
            at, _, action = heapq.heappop(self._heap)
            self.now = max(self.now, at)
            for emission in action(at):
                self._observe(emission)
                if self._is_held(emission):
                    self._held.setdefault(emission.park, []).append(emission)
                else:
                    out.append(emission)
        self.now = max(self.now, until)
        return out

    def _observe(self, emission: Emission) -> None:
        event = emission.event
        if isinstance(event, OrderEvent):
            record = self.orders.get(event.order_id)
            if record is not None:
                record.status = event.status
                record.quantity = event.quantity
        elif isinstance(event, CapacityEvent):
            key = capacity_key(event.park_id, event.category, event.week_start)
            self.declared[key] = (event.actual_capacity, event.maximum_capacity)

    # -- park offline -----------------------------------------------------------------------
    def hold(self, park_id: str, start: datetime, until: datetime) -> None:
        """The park publishes nothing from `start` to `until`; then it sends what it held."""
        self._holds[park_id] = (start, until)

        def release(_: datetime) -> list[Emission]:
            self._holds.pop(park_id, None)
            return self._held.pop(park_id, [])

        self.schedule(until, release)

    def _is_held(self, emission: Emission) -> bool:
        window = self._holds.get(emission.park)
        return window is not None and window[0] <= emission.at < window[1]

    # -- questions scenarios ask ------------------------------------------------------------
    def open_demand(self, park_id: str, category: str, week: date) -> float:
        return sum(
            r.quantity
            for r in self.orders.values()
            if r.supplier == park_id
            and r.category == category
            and r.week == week
            and r.status in OPEN_ORDER_STATUSES
        )

    def lanes_from(self, park_id: str) -> list[Corridor]:
        return sorted(
            (c for c in CORRIDORS if c.origin == park_id),
            key=lambda c: (c.transit_hours, c.corridor_id),
        )

    # -- capacity ---------------------------------------------------------------------------
    def _baseline_capacity(self) -> dict[tuple[str, str], tuple[float, str, float]]:
        """(park, category) -> (weekly capacity, unit, lot): comfortably above the expected
        weekly demand (mean + 5 standard deviations of the compound Poisson demand)."""
        total = sum(self._lane_weights)
        weekly: dict[tuple[str, str], tuple[float, float, str]] = {}
        for lane in CORRIDORS:
            for product in PARKS_BY_ID[lane.origin].products:
                orders = self.orders_per_hour * 168 * lane.weight / total * product.share
                key = (lane.origin, product.category)
                n, _, _ = weekly.get(key, (0.0, product.lot, product.unit))
                weekly[key] = (n + orders, product.lot, product.unit)
        out = {}
        for key, (n, lot, unit) in weekly.items():
            mean = n * lot
            sd = lot * math.sqrt(n * (1 + 0.8**2 / 12))
            out[key] = (max(1.4 * mean, mean + 5 * sd) + 2 * lot, unit, lot)
        return out

    def declare(
        self,
        at: datetime,
        park_id: str,
        category: str,
        week: date,
        actual: float,
        maximum: float | None,
        unit: str,
        reason: str | None = None,
    ) -> None:
        self.schedule_event(
            at,
            "capacity",
            CapacityEvent,
            source_park=park_id,
            park_id=park_id,
            category=category,
            week_start=week,
            actual_capacity=actual,
            maximum_capacity=maximum,
            unit=unit,
            reason=reason,
        )

    def baseline_declaration(self, park_id: str, category: str) -> tuple[float, float, str]:
        """A plausible (actual, maximum, unit) for one week of a park's category."""
        base, unit, _ = self.baseline_capacity[(park_id, category)]
        actual = _round(base * self.rng.uniform(0.97, 1.05), unit)
        return actual, _round(actual * self.rng.uniform(1.15, 1.35), unit), unit

    def _declare_horizon(self, at: datetime) -> list[Emission]:
        first = at == self.start
        this_week = monday(at)
        offsets = range(HORIZON_WEEKS + 1) if first else (HORIZON_WEEKS,)
        for offset in offsets:
            week = this_week + timedelta(weeks=offset)
            for park in PARKS:
                for product in park.products:
                    if (park.park_id, product.category) not in self.baseline_capacity:
                        continue
                    actual, maximum, unit = self.baseline_declaration(
                        park.park_id, product.category
                    )
                    self.declare(at, park.park_id, product.category, week, actual, maximum, unit)
        next_monday = datetime.combine(this_week + WEEK, time(0), tzinfo=UTC)
        self.schedule(next_monday, self._declare_horizon)
        return []

    # -- orders and shipments ---------------------------------------------------------------
    def _order_arrival(self, at: datetime) -> list[Emission]:
        lane = self.rng.choices(self._lanes, self._lane_weights)[0]
        supplier = PARKS_BY_ID[lane.origin]
        product = self.rng.choices(supplier.products, [p.share for p in supplier.products])[0]
        quantity = _round(product.lot * self.rng.uniform(0.6, 1.4), product.unit)
        departure = at + timedelta(days=self.rng.uniform(*LEAD_DAYS))
        planned = departure + timedelta(hours=lane.transit_hours)
        due = (planned + timedelta(hours=self.rng.uniform(12, 48))).date()
        # An order whose shipment is delivered before the start shows nothing: skip its work.
        if planned + 2 * DAY >= self.start:
            self.place_order(at, lane, product, quantity, due, departure=departure, baseline=True)
        gap_h = self.rng.expovariate(self.orders_per_hour)
        self.schedule(at + timedelta(hours=gap_h), self._order_arrival)
        return []

    def place_order(
        self,
        at: datetime,
        lane: Corridor,
        product: Product,
        quantity: float,
        due: date,
        *,
        departure: datetime | None = None,
        baseline: bool = False,
    ) -> str:
        """An order from the lane's destination (buyer) to its origin (supplier) with its whole
        life: placed, confirmed, shipped along the lane, delivered, fulfilled."""
        order_id = self.new_id("PO")
        buyer, supplier = lane.destination, lane.origin
        self.orders[order_id] = OrderRecord(
            order_id, supplier, buyer, product.category, quantity, due
        )
        common = {
            "order_id": order_id,
            "buyer_park": buyer,
            "supplier_park": supplier,
            "sku": f"{product.sku}-{product.category}",
            "category": product.category,
            "unit": product.unit,
            "due_date": due,
        }

        def order(when: datetime, park: str, status: OrderStatus, qty: float) -> None:
            self.schedule_event(
                when, "orders", OrderEvent, source_park=park, status=status, quantity=qty, **common
            )

        order(at, buyer, OrderStatus.PLACED, quantity)
        confirmed = at + timedelta(hours=self.rng.uniform(1, 8))
        order(confirmed, supplier, OrderStatus.CONFIRMED, quantity)
        if departure is None:
            latest = at_noon(due) - timedelta(hours=lane.transit_hours) - DAY
            departure = max(at + DAY, latest)
        if baseline and departure - confirmed > 30 * HOUR:
            roll = self.rng.random()
            when = confirmed + timedelta(hours=self.rng.uniform(2, 20))
            if roll < 0.02:
                order(when, buyer, OrderStatus.CANCELLED, quantity)
                return order_id
            if roll < 0.06:
                quantity = _round(quantity * self.rng.uniform(0.8, 1.2), product.unit)
                order(when, buyer, OrderStatus.AMENDED, quantity)
        delivered = self.ship(lane, [order_id], departure, booked_after=confirmed)
        order(delivered + HOUR, supplier, OrderStatus.FULFILLED, quantity)
        return order_id

    def shipment_fields(
        self, lane: Corridor, shipment_id: str, order_ids: list[str], planned: datetime
    ) -> dict[str, Any]:
        return {
            "shipment_id": shipment_id,
            "order_ids": order_ids,
            "mode": lane.mode,
            "origin_park": lane.origin,
            "destination_park": lane.destination,
            "corridor": lane.corridor_id,
            "planned_arrival": planned,
        }

    def ship(
        self, lane: Corridor, order_ids: list[str], departure: datetime, booked_after: datetime
    ) -> datetime:
        """A shipment's journey along `lane`; returns when it is delivered."""
        rng = self.rng
        transit = timedelta(hours=lane.transit_hours)
        planned = departure + transit
        base = self.shipment_fields(lane, self.new_id("SH"), order_ids, planned)

        def update(
            when: datetime, park: str, status: ShipmentStatus, eta: datetime, **extra: Any
        ) -> None:
            self.schedule_event(
                when,
                "shipments",
                ShipmentEvent,
                source_park=park,
                status=status,
                estimated_arrival=eta,
                **base,
                **extra,
            )

        booked = max(booked_after + HOUR, departure - timedelta(hours=rng.uniform(6, 24)))
        update(booked, lane.origin, ShipmentStatus.BOOKED, planned)
        update(departure, lane.origin, ShipmentStatus.DEPARTED, planned)
        drift = timedelta(0)  # how far behind (or ahead of) plan the shipment runs
        if not lane.checkpoints:
            drift = timedelta(hours=rng.uniform(-3, 6))
            update(departure + transit / 2, lane.origin, ShipmentStatus.IN_TRANSIT, planned + drift)
        for cp in lane.checkpoints:
            arrived = departure + transit * cp.at + drift
            checkpoint = Checkpoint(name=cp.name, lat=cp.lat, lon=cp.lon)
            update(
                arrived,
                lane.origin,
                ShipmentStatus.AT_BORDER,
                planned + drift,
                checkpoint=checkpoint,
            )
            dwell = timedelta(hours=cp.dwell_hours * rng.uniform(0.6, 1.5))
            drift = _clamp(drift + dwell - timedelta(hours=cp.dwell_hours), 12)
            update(
                arrived + dwell,
                lane.origin,
                ShipmentStatus.IN_TRANSIT,
                planned + drift,
                checkpoint=checkpoint,
            )
        arrival = planned + drift
        update(arrival, lane.destination, ShipmentStatus.ARRIVED, arrival)
        delivered = arrival + timedelta(hours=rng.uniform(3, 12))
        update(delivered, lane.destination, ShipmentStatus.DELIVERED, arrival)
        return delivered


def _clamp(delta: timedelta, hours: float) -> timedelta:
    limit = timedelta(hours=hours)
    return max(-limit, min(limit, delta))


def _round(value: float, unit: str) -> float:
    return float(max(1, round(value))) if unit == "pcs" else round(max(0.1, value), 1)
