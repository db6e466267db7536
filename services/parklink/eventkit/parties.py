"""Who may say what: a park speaks only for itself. It publishes an order only as its buyer or
supplier, a shipment only as its origin or destination, capacity only for itself; an order
status that belongs to one side (the buyer places, amends and cancels; the supplier confirms
and fulfils) only from that side. No I/O; the gateway and the SDK refuse a batch that breaks
any rule (403), and the detector can judge events that reached Kafka directly with
`party_problem`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parklink.eventkit.contracts import (
    CapacityEvent,
    OrderEvent,
    OrderStatus,
    ParkEvent,
    ShipmentEvent,
)
from parklink.eventkit.errors import MAX_DETAILS, ForeignPark

BUYER_STATUSES = frozenset({OrderStatus.PLACED, OrderStatus.AMENDED, OrderStatus.CANCELLED})
SUPPLIER_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.FULFILLED})


class Rule(StrEnum):
    """The party rules, as named in error details."""

    OWN_PARK = "own-park"
    """source_park (and a capacity's park_id) is the publishing park."""
    ORDER_PARTY = "order-party"
    """The source of an order event is its buyer or its supplier."""
    ORDER_SIDE = "order-status-side"
    """PLACED, AMENDED, CANCELLED come from the buyer; CONFIRMED, FULFILLED from the supplier."""
    SHIPMENT_PARTY = "shipment-party"
    """The source of a shipment event is its origin or its destination."""
    CAPACITY_OWN = "capacity-own-park"
    """A capacity event's park_id is its source_park."""


@dataclass(frozen=True)
class Problem:
    rule: Rule
    path: str
    message: str

    def detail(self, index: int | None) -> dict[str, Any]:
        return {"index": index, "path": self.path, "rule": str(self.rule), "message": self.message}


def party_problem(event: ParkEvent) -> Problem | None:
    """The party rule `event` breaks, judged by its own source_park; None if it keeps them."""
    src = event.source_park
    if isinstance(event, OrderEvent):
        return order_problem(
            src, event.buyer_park, event.supplier_park, event.status, event.order_id
        )
    if isinstance(event, ShipmentEvent):
        return shipment_problem(src, event.origin_park, event.destination_park, event.shipment_id)
    if isinstance(event, CapacityEvent):
        return capacity_problem(src, event.park_id)
    return None


def order_problem(
    src: str, buyer: str, supplier: str, status: str, order_id: str
) -> Problem | None:
    """The party rules of an order event, on its field values (`status` as its text)."""
    if src not in (buyer, supplier):
        return Problem(
            Rule.ORDER_PARTY,
            "source_park",
            f"{src} is neither the buyer ({buyer}) nor the supplier ({supplier}) of order "
            f"{order_id}",
        )
    if buyer != supplier:
        if status in BUYER_STATUSES and src != buyer:
            return Problem(
                Rule.ORDER_SIDE, "status", f"only the buyer ({buyer}) may say an order is {status}"
            )
        if status in SUPPLIER_STATUSES and src != supplier:
            return Problem(
                Rule.ORDER_SIDE,
                "status",
                f"only the supplier ({supplier}) may say an order is {status}",
            )
    return None


def shipment_problem(src: str, origin: str, destination: str, shipment_id: str) -> Problem | None:
    """The party rule of a shipment event, on its field values."""
    if src not in (origin, destination):
        return Problem(
            Rule.SHIPMENT_PARTY,
            "source_park",
            f"{src} is neither the origin ({origin}) nor the destination ({destination}) of "
            f"shipment {shipment_id}",
        )
    return None


def capacity_problem(src: str, park_id: str) -> Problem | None:
    """The party rule of a capacity event, on its field values."""
    if park_id != src:
        return Problem(
            Rule.CAPACITY_OWN,
            "park_id",
            f"park_id {park_id} is not source_park {src}: a park declares only its own capacity",
        )
    return None


def _refuse(details: list[dict[str, Any]], park: str) -> ForeignPark:
    bad = sorted({d["index"] for d in details if isinstance(d["index"], int)})
    first = details[0]
    return ForeignPark(
        f"{len(bad)} event(s) break the party rules for park {park} (index "
        + ", ".join(str(i) for i in bad[:10])
        + (" …" if len(bad) > 10 else "")
        + f"); first: [{first['index']}] {first['rule']}: {first['message']}",
        details[:MAX_DETAILS],
    )


def check_own_park(kind: str, items: Sequence[Any], park: str) -> None:
    """Refuse raw items that speak for another park (ForeignPark). Runs before validation:
    whatever else is wrong with it, an event on behalf of another park is not this park's to
    send. Items whose park fields are missing or not strings are left to validation."""
    fields = ("source_park", "park_id") if kind == "capacity" else ("source_park",)
    details = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            continue
        for name in fields:
            value = item.get(name)
            if isinstance(value, str) and value != park:
                details.append(
                    Problem(
                        Rule.OWN_PARK, name, f"{name} is {value!r} but the publisher is {park!r}"
                    ).detail(index)
                )
    if details:
        raise _refuse(details, park)


def check_parties(events: Sequence[ParkEvent], park: str) -> None:
    """Refuse a batch in which any event is not `park`'s to publish (ForeignPark; each detail
    has the item's index, the field path and the rule)."""
    details = []
    for index, event in enumerate(events):
        if event.source_park != park:
            problem: Problem | None = Problem(
                Rule.OWN_PARK,
                "source_park",
                f"source_park is {event.source_park!r} but the publisher is {park!r}",
            )
        else:
            problem = party_problem(event)
        if problem is not None:
            details.append(problem.detail(index))
    if details:
        raise _refuse(details, park)
