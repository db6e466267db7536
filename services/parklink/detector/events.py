"""The park events as the stages read them: the contract's fields in plain named tuples, with
times as epoch milliseconds (what the wire holds and what the state keeps) and dates as
dates. A worker reads them straight from a record's Avro values once the contract's checks
say the record is certainly within the contract (`codec.EventDecoder`), instead of building
the pydantic model, its datetimes and then the milliseconds again; a record in any doubt is
judged by the model and converted (`of_model`), so what is refused, and why, stays the
model's. Tests and the in-memory `Engine` pass models and convert them the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple, overload

from parklink.eventkit.contracts import (
    CapacityEvent,
    OrderEvent,
    ParkEvent,
    ShipmentEvent,
    capacity_key,
)
from parklink.eventkit.validation import epoch_date

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def millis(moment: datetime) -> int:
    """Epoch milliseconds of an aware datetime, exactly (no float rounding)."""
    return (moment - _EPOCH) // _MS


def moment(epoch_ms: int) -> datetime:
    """The UTC datetime of epoch milliseconds (for messages that quote a time)."""
    return _EPOCH + epoch_ms * _MS


class OrderRecord(NamedTuple):
    event_id: str
    event_time: int
    source_park: str
    order_id: str
    status: str
    buyer_park: str
    supplier_park: str
    sku: str
    category: str
    quantity: float
    unit: str
    due_date: date
    value: dict[str, Any] | None

    def key(self) -> str:
        return self.order_id


class ShipmentRecord(NamedTuple):
    event_id: str
    event_time: int
    source_park: str
    shipment_id: str
    order_ids: tuple[str, ...]
    status: str
    mode: str
    origin_park: str
    destination_park: str
    corridor: str
    checkpoint: dict[str, Any] | None
    planned_arrival: int
    estimated_arrival: int | None

    def key(self) -> str:
        return self.shipment_id


class CapacityRecord(NamedTuple):
    event_id: str
    event_time: int
    source_park: str
    park_id: str
    category: str
    week_start: date
    actual_capacity: float
    maximum_capacity: float | None
    unit: str
    reason: str | None

    def key(self) -> str:
        return capacity_key(self.park_id, self.category, self.week_start)


ParkRecord = OrderRecord | ShipmentRecord | CapacityRecord


# Positional: a third of the cost of keyword arguments from a dict, for every record read.
def _order(v: dict[str, Any]) -> OrderRecord:
    return OrderRecord(
        v["event_id"],
        v["event_time"],
        v["source_park"],
        v["order_id"],
        v["status"],
        v["buyer_park"],
        v["supplier_park"],
        v["sku"],
        v["category"],
        v["quantity"],
        v["unit"],
        epoch_date(v["due_date"]),
        v["value"],
    )


def _shipment(v: dict[str, Any]) -> ShipmentRecord:
    return ShipmentRecord(
        v["event_id"],
        v["event_time"],
        v["source_park"],
        v["shipment_id"],
        tuple(v["order_ids"]),
        v["status"],
        v["mode"],
        v["origin_park"],
        v["destination_park"],
        v["corridor"],
        v["checkpoint"],
        v["planned_arrival"],
        v["estimated_arrival"],
    )


def _capacity(v: dict[str, Any]) -> CapacityRecord:
    return CapacityRecord(
        v["event_id"],
        v["event_time"],
        v["source_park"],
        v["park_id"],
        v["category"],
        epoch_date(v["week_start"]),
        v["actual_capacity"],
        v["maximum_capacity"],
        v["unit"],
        v["reason"],
    )


FROM_VALUES: dict[str, Callable[[dict[str, Any]], ParkRecord]] = {
    "orders": _order,
    "shipments": _shipment,
    "capacity": _capacity,
}
"""By park topic role: a record's checked Avro values (`validation.contract_values`) -> the
stages' record."""


@overload
def of_model(event: OrderEvent) -> OrderRecord: ...
@overload
def of_model(event: ShipmentEvent) -> ShipmentRecord: ...
@overload
def of_model(event: CapacityEvent) -> CapacityRecord: ...
@overload
def of_model(event: ParkEvent) -> ParkRecord: ...
def of_model(event: ParkEvent) -> ParkRecord:
    """The stages' record of a validated contract model."""
    if isinstance(event, OrderEvent):
        return OrderRecord(
            event.event_id,
            millis(event.event_time),
            event.source_park,
            event.order_id,
            event.status.value,
            event.buyer_park,
            event.supplier_park,
            event.sku,
            event.category,
            event.quantity,
            event.unit,
            event.due_date,
            None if event.value is None else dict(event.value),
        )
    if isinstance(event, ShipmentEvent):
        eta = event.estimated_arrival
        return ShipmentRecord(
            event.event_id,
            millis(event.event_time),
            event.source_park,
            event.shipment_id,
            tuple(event.order_ids),
            event.status.value,
            event.mode.value,
            event.origin_park,
            event.destination_park,
            event.corridor,
            None if event.checkpoint is None else dict(event.checkpoint),
            millis(event.planned_arrival),
            None if eta is None else millis(eta),
        )
    if isinstance(event, CapacityEvent):
        return CapacityRecord(
            event.event_id,
            millis(event.event_time),
            event.source_park,
            event.park_id,
            event.category,
            event.week_start,
            event.actual_capacity,
            event.maximum_capacity,
            event.unit,
            event.reason,
        )
    raise TypeError(f"not a park event: {type(event).__name__}")
