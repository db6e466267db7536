"""Which park events the detector takes in at all (the rules of `docs/architecture.md`,
"Who may do what"): the event keeps the party rules by its own fields, its event_time lies
within the time bounds of its arrival, and it names the parties its entity was bound to at
its first event. Whatever fails goes to the dead-letter topic and changes nothing.

The time bounds are judged against the record's broker time (the park topics stamp records
with `LogAppendTime`), not the worker's clock: a replay after a long outage judges each
record as it was judged when it arrived. (Broker times are the detector's time,
`eventkit/clock.py`: the real time unless a benchmark speeds it up.)

A capacity declaration for a week that has already left the tables (it ended more than the
week retention ago, rules/retention.py) is refused too: it would bring that week back,
empty of its orders, and declare for a past nobody watches any more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from parklink.detector.events import (
    CapacityRecord,
    OrderRecord,
    ParkRecord,
    ShipmentRecord,
    moment,
)
from parklink.detector.rules.retention import DAY_MS, Retention
from parklink.detector.state import OrderEntity, ShipmentEntity
from parklink.eventkit.bounds import TimeBounds, event_time_problem
from parklink.eventkit.parties import Problem, capacity_problem, order_problem, shipment_problem

PARTY_RULE = "party-rule"
PARTY_MISMATCH = "party-mismatch"
OUT_OF_BOUNDS = "out-of-bounds"
PAST_WEEK = "past-week"
MS = timedelta(milliseconds=1)


@dataclass(frozen=True, slots=True)
class Refusal:
    reason: str
    message: str


def _party_problem(event: ParkRecord) -> Problem | None:
    src = event.source_park
    if isinstance(event, ShipmentRecord):
        return shipment_problem(src, event.origin_park, event.destination_park, event.shipment_id)
    if isinstance(event, OrderRecord):
        return order_problem(
            src, event.buyer_park, event.supplier_park, event.status, event.order_id
        )
    return capacity_problem(src, event.park_id)


class Admission:
    """The time bounds in the epoch milliseconds of records and broker times."""

    def __init__(self, bounds: TimeBounds) -> None:
        self.bounds = bounds
        self.skew_ms = bounds.skew // MS
        self.horizon_ms = bounds.horizon // MS

    def admit(self, event: ParkRecord, appended_ms: int) -> Refusal | None:
        """None when the event may be taken in, judged on its own and by its arrival time."""
        broken = _party_problem(event)
        if broken is not None:
            return Refusal(PARTY_RULE, f"{broken.rule}: {broken.message}")
        at = event.event_time
        if appended_ms - self.horizon_ms <= at <= appended_ms + self.skew_ms:
            return None
        late_or_early = event_time_problem(moment(at), moment(appended_ms), self.bounds)
        return None if late_or_early is None else Refusal(OUT_OF_BOUNDS, late_or_early)


def capacity_week(event: CapacityRecord, appended_ms: int, retention: Retention) -> Refusal | None:
    """A declaration may not be for a week that has left the tables by its arrival time."""
    week = event.week_start.isoformat()
    if not retention.week_expired(week, appended_ms):
        return None
    arrived = moment(appended_ms)
    return Refusal(
        PAST_WEEK,
        f"capacity for the week of {week} arrived {arrived.isoformat()}: that week ended more "
        f"than {retention.week_ms / DAY_MS:g} days before (PARKLINK_WEEK_RETENTION_DAYS) and "
        "is no longer watched",
    )


def order_binding(held: OrderEntity | None, event: OrderRecord) -> Refusal | None:
    """An order's buyer and supplier are those of its first event."""
    if held is None:
        return None
    bound = (held.latest.buyer_park, held.latest.supplier_park)
    if (event.buyer_park, event.supplier_park) == bound:
        return None
    return Refusal(
        PARTY_MISMATCH,
        f"order {event.order_id} is between buyer {bound[0]} and supplier {bound[1]}; "
        f"{event.source_park} named buyer {event.buyer_park} and supplier {event.supplier_park}",
    )


def shipment_binding(held: ShipmentEntity | None, event: ShipmentRecord) -> Refusal | None:
    """A shipment's origin and destination are those of its first event."""
    if held is None:
        return None
    bound = (held.origin_park, held.destination_park)
    if (event.origin_park, event.destination_park) == bound:
        return None
    return Refusal(
        PARTY_MISMATCH,
        f"shipment {event.shipment_id} goes from {bound[0]} to {bound[1]}; "
        f"{event.source_park} named {event.origin_park} to {event.destination_park}",
    )
