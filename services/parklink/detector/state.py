"""The detector's state as plain dataclasses: what it remembers per order, shipment, week,
corridor and park, and the messages that carry an entity's latest state between stages.

Every view carries the version `(event_time in ms, event_id)` of the event it comes from; a
stage keeps a view only if its version is newer than the one it holds, so late, repeated and
re-delivered messages change nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from parklink.detector.events import OrderRecord, ShipmentRecord
from parklink.eventkit.contracts import (
    OPEN_ORDER_STATUSES,
    Severity,
    ShipmentStatus,
    alert_id,
)

Version = tuple[int, str]
Impact = tuple[object, ...]
NOT_LISTED = ("parks_not_listed", "orders_not_listed", "shipments_not_listed")
"""The metrics that count what an alert's lists leave out (see rules/limits.py)."""
NO_IMPACT: Impact = (None, (), (), (), 0.0, 0.0, 0.0)
"""The impact of an alert that is not firing: whatever it would list, nobody is affected."""
OPEN_STATUSES = frozenset(s.value for s in OPEN_ORDER_STATUSES)
FINISHED_STATUSES = frozenset({ShipmentStatus.DELIVERED.value, ShipmentStatus.CANCELLED.value})


def week_start(day: date) -> date:
    """Monday of the ISO week of `day`."""
    return day - timedelta(days=day.isoweekday() - 1)


def week_key(category: str, week: str) -> str:
    return f"{category}|{week}"


@dataclass(frozen=True, slots=True)
class OrderView:
    """An order's latest state, as the weekly stage needs it."""

    order_id: str
    event_time: int
    event_id: str
    status: str
    buyer_park: str
    supplier_park: str
    category: str
    week: str  # ISO date of the Monday of due_date's week
    quantity: float

    @classmethod
    def of(cls, event: OrderRecord) -> OrderView:
        return cls(
            order_id=event.order_id,
            event_time=event.event_time,
            event_id=event.event_id,
            status=event.status,
            buyer_park=event.buyer_park,
            supplier_park=event.supplier_park,
            category=event.category,
            week=week_start(event.due_date).isoformat(),
            quantity=event.quantity,
        )

    @property
    def version(self) -> Version:
        return (self.event_time, self.event_id)

    @property
    def bucket(self) -> str:
        return week_key(self.category, self.week)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, slots=True)
class OrderEntity:
    latest: OrderView
    # The week buckets told about each update: the order's own, and the ones it left until
    # the record that moved it out is committed (see rules/orders.py).
    buckets: tuple[str, ...]
    left_at: dict[str, int] = field(default_factory=dict)  # bucket -> that record's offset


@dataclass(frozen=True, slots=True)
class Declaration:
    """One capacity declaration of a park for a category and week."""

    event_id: str
    event_time: int
    actual: float
    maximum: float | None
    unit: str

    @property
    def version(self) -> Version:
        return (self.event_time, self.event_id)


@dataclass(frozen=True, slots=True)
class DeclarationMessage:
    park: str
    category: str
    week: str
    declaration: Declaration

    @property
    def bucket(self) -> str:
        return week_key(self.category, self.week)


@dataclass(frozen=True, slots=True)
class WeekMessage:
    """What reaches the weekly stage (keyed by `category|week`): an order's latest state or a
    capacity declaration."""

    order: OrderView | None = None
    capacity: DeclarationMessage | None = None


@dataclass(frozen=True, slots=True)
class WeekHead:
    """What a category-week remembers besides its orders: every supplier's capacity
    declarations and the stage clock. Small, so it can be rewritten on every change."""

    category: str
    week: str
    declarations: dict[str, tuple[Declaration, ...]] = field(default_factory=dict)
    clock: int = 0  # ms stamp of the last conclusion passed on (see stages.stamp)


@dataclass(slots=True)
class SupplierWeek:
    """One supplier park's open orders in a category-week and their exact total, in
    2**-1074 (`rules.weeks.exact_units`: so the order of updates never moves a comparison
    with capacity)."""

    open: dict[str, OrderView] = field(default_factory=dict)
    demand: int = 0
    buyers: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    """How many of the open orders each buyer park placed (the parks its alerts name)."""
    ids: list[str] | None = field(default=None, compare=False, repr=False)
    """The open orders' ids in order, once an alert first asked for them, then kept in order
    with every update (`rules.weeks.first_open`): an update of a supplier with many open
    orders costs a binary search, not a sort of all of them."""


@dataclass(slots=True)
class Week:
    """A category-week in memory: its head and the latest view of every order that has been
    counted in it (both stored, as one table entry each), plus the open orders and demand of
    each supplier derived from them. Updated in place, so an order update costs the same
    however many orders the week holds."""

    bucket: str
    head: WeekHead
    orders: dict[str, OrderView] = field(default_factory=dict)
    suppliers: dict[str, SupplierWeek] = field(default_factory=dict)
    impacts: dict[str, dict[str, Impact]] = field(default_factory=dict, compare=False, repr=False)
    """By supplier park: the impacts of its alerts of the week as last worked out (see
    `weeks.week_impacts`); a change of its orders or declarations forgets them. Memory only."""


@dataclass(frozen=True, slots=True)
class WeekWrites:
    """The entries a week message changed: the head and/or one order view."""

    head: WeekHead | None = None
    order: OrderView | None = None


@dataclass(frozen=True, slots=True)
class ShipmentEntity:
    shipment_id: str
    event_time: int
    event_id: str
    source_park: str
    status: str
    order_ids: tuple[str, ...]
    origin_park: str
    destination_park: str
    corridor: str
    planned_arrival: int
    eta: int | None
    eta_time: int  # version of the event the ETA comes from
    eta_event_id: str
    corridors: tuple[str, ...]  # every corridor the shipment has been reported on

    @classmethod
    def of(cls, event: ShipmentRecord) -> ShipmentEntity:
        eta = event.estimated_arrival
        return cls(
            shipment_id=event.shipment_id,
            event_time=event.event_time,
            event_id=event.event_id,
            source_park=event.source_park,
            status=event.status,
            order_ids=tuple(event.order_ids),
            origin_park=event.origin_park,
            destination_park=event.destination_park,
            corridor=event.corridor,
            planned_arrival=event.planned_arrival,
            eta=eta,
            eta_time=event.event_time if eta is not None else -1,
            eta_event_id=event.event_id if eta is not None else "",
            corridors=(event.corridor,),
        )

    @property
    def version(self) -> Version:
        return (self.event_time, self.event_id)

    @property
    def eta_version(self) -> Version:
        return (self.eta_time, self.eta_event_id)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES


@dataclass(frozen=True, slots=True)
class ShipmentView:
    """A shipment as its corridor sees it: whether its SHIPMENT_DELAY is firing."""

    shipment_id: str
    event_time: int
    event_id: str
    corridor: str
    delayed: bool
    order_ids: tuple[str, ...]  # the first alert_list_limit of its orders, by id
    parks: tuple[str, ...]
    delay: AlertState | None = None  # the shipment's SHIPMENT_DELAY, raised by its corridor
    order_count: int = -1  # how many orders it carries (-1: len(order_ids), older records)

    @property
    def orders(self) -> int:
        return len(self.order_ids) if self.order_count < 0 else self.order_count

    @property
    def version(self) -> Version:
        return (self.event_time, self.event_id)


@dataclass(frozen=True, slots=True)
class CorridorHead:
    """What a corridor remembers besides its shipments: the stage clock."""

    corridor: str
    clock: int = 0  # ms stamp of the last conclusion passed on (see stages.stamp)


@dataclass(slots=True)
class CorridorState:
    """A corridor in memory: the stored view of each shipment it remembers (one table entry
    each, `corridor|shipment_id`; see rules/corridors.py) and its clock (its head entry),
    plus the views it counts, derived from them. Updated in place, so a view costs the same
    however many shipments the corridor holds."""

    corridor: str
    shipments: dict[str, ShipmentView] = field(default_factory=dict)
    clock: int = 0
    counted: dict[str, ShipmentView] = field(default_factory=dict)
    """The shipments of `shipments` that count towards the congestion."""
    congestion: Impact | None = field(default=None, compare=False, repr=False)
    """The impact of its CORRIDOR_CONGESTION as last worked out (None: not known, work it
    out); every change of `shipments` forgets it. Memory only, like `counted`."""


CorridorWrite = tuple[str, ShipmentView | None]
"""A corridor's changed shipment entry: (shipment_id, its stored view, None when dropped)."""


@dataclass(frozen=True, slots=True)
class ParkMessage:
    """A park was seen publishing (`park` set), or a clock tick for every park of a partition."""

    park: str = ""
    published: int = 0  # ms, the Kafka timestamp of the park's record
    event_id: str = ""
    tick: int = 0  # ms, wall clock of the tick


@dataclass(frozen=True, slots=True)
class ParkActivity:
    park: str
    last_published: int
    last_event_id: str
    partition: int
    silent: Severity | None = None  # what the stage last concluded
    clock: int = 0


@dataclass(frozen=True, slots=True)
class AlertState:
    """What an alert should look like now: `severity` None means "not firing". The emitter
    turns a change of it into a DisruptionAlert transition."""

    type: str
    subject: str
    severity: Severity | None
    summary: str
    parks: tuple[str, ...] = ()
    impacted_orders: tuple[str, ...] = ()
    impacted_shipments: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    metrics: dict[str, float] = field(default_factory=dict)
    corridor: str | None = None
    at: int = 0  # ms, when the stage concluded it

    @property
    def alert_id(self) -> str:
        return alert_id(self.type, self.subject)

    def impact(self) -> Impact:
        """What operators care about: who is affected (NO_IMPACT when not firing)."""
        if self.severity is None:
            return NO_IMPACT
        return impact_of(
            self.severity, self.parks, self.impacted_orders, self.impacted_shipments, self.metrics
        )


def impact_of(
    severity: object,
    parks: tuple[str, ...],
    orders: tuple[str, ...],
    shipments: tuple[str, ...],
    metrics: dict[str, float],
) -> Impact:
    """The impact of a firing alert: severity, its lists and what they leave out."""
    get = metrics.get
    return (
        severity,
        parks,
        orders,
        shipments,
        get(NOT_LISTED[0], 0.0),
        get(NOT_LISTED[1], 0.0),
        get(NOT_LISTED[2], 0.0),
    )
