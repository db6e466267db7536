"""Pydantic models of the Avro records in `schemas/`. The contract tests round-trip every model
through its `.avsc`, so the two cannot drift apart."""

from __future__ import annotations

import math
import re
from abc import abstractmethod
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

PARK_ID_PATTERN = r"^[A-Z]{2}-[A-Z0-9]{2,6}-[A-Z0-9]{2,16}$"
CATEGORY_PATTERN = r"^[0-9]{4}$"
CORRIDOR_PATTERN = r"^[A-Z0-9]+(-[A-Z0-9]+)+$"

ParkId = Annotated[str, StringConstraints(pattern=PARK_ID_PATTERN)]
Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN)]
CorridorId = Annotated[str, StringConstraints(pattern=CORRIDOR_PATTERN, max_length=64)]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^|\s]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Amount = Annotated[float, Field(ge=0, allow_inf_nan=False)]


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid_text(value: str) -> str:
    """The canonical (lower-case, hyphenated) text of a UUID; a regex, not uuid.UUID, because
    this runs for every event on the publish hot path."""
    text = value.lower()
    if _UUID.fullmatch(text) is None:
        raise ValueError("must be a UUID, e.g. 0f8c5f2e-3b8a-4d55-9a43-6d1c2b7f9e10")
    return text


def _millis(value: datetime) -> datetime:
    """Avro timestamp-millis keeps milliseconds; keep models equal to what the wire holds."""
    micros = value.microsecond % 1000
    if value.tzinfo is UTC:
        return value.replace(microsecond=value.microsecond - micros) if micros else value
    return value.astimezone(UTC).replace(microsecond=value.microsecond - micros)


EventId = Annotated[str, AfterValidator(_uuid_text)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_millis)]


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    CONFIRMED = "CONFIRMED"
    AMENDED = "AMENDED"
    CANCELLED = "CANCELLED"
    FULFILLED = "FULFILLED"


OPEN_ORDER_STATUSES = frozenset({OrderStatus.PLACED, OrderStatus.CONFIRMED, OrderStatus.AMENDED})


class ShipmentStatus(StrEnum):
    BOOKED = "BOOKED"
    DEPARTED = "DEPARTED"
    IN_TRANSIT = "IN_TRANSIT"
    AT_BORDER = "AT_BORDER"
    CUSTOMS_HOLD = "CUSTOMS_HOLD"
    ARRIVED = "ARRIVED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class TransportMode(StrEnum):
    RAIL = "RAIL"
    ROAD = "ROAD"
    SEA = "SEA"
    AIR = "AIR"
    MULTIMODAL = "MULTIMODAL"


class Severity(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    CRITICAL = "CRITICAL"


class AlertStatus(StrEnum):
    FIRING = "FIRING"
    RESOLVED = "RESOLVED"


class AlertType(StrEnum):
    SHIPMENT_DELAY = "SHIPMENT_DELAY"
    CAPACITY_SHORTFALL = "CAPACITY_SHORTFALL"
    CAPACITY_DROP = "CAPACITY_DROP"
    CORRIDOR_CONGESTION = "CORRIDOR_CONGESTION"
    PARK_SILENT = "PARK_SILENT"


class Record(BaseModel):
    """Base of every record: strict about unknown fields, immutable once built."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    schema_name: ClassVar[str]

    def to_avro(self) -> dict[str, Any]:
        """The record as the Avro encoder takes it (datetimes, dates, strings, enum members
        being strings, nested records being dicts). Read straight from the fields:
        model_dump costs as much as the Avro encoding itself on the publish hot path."""
        return dict(self.__dict__)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @abstractmethod
    def key(self) -> str:
        """The Kafka key of the record (DESIGN §3)."""


# Nested records are validated TypedDicts, not models: a nested model costs as much to
# validate as the rest of the event, and a dict is what the Avro encoder takes anyway.
@with_config(ConfigDict(extra="forbid"))
class Money(TypedDict):
    amount: Amount
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


@with_config(ConfigDict(extra="forbid"))
class Checkpoint(TypedDict):
    name: Text
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]


class ParkEvent(Record):
    """Fields every park event carries."""

    event_id: EventId
    event_time: Timestamp
    source_park: ParkId


class OrderEvent(ParkEvent):
    schema_name: ClassVar[str] = "OrderEvent"

    order_id: Ident
    status: OrderStatus
    buyer_park: ParkId
    supplier_park: ParkId
    sku: Text
    category: Category
    quantity: Amount
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    due_date: date
    value: Money | None = None

    def key(self) -> str:
        return self.order_id


class ShipmentEvent(ParkEvent):
    schema_name: ClassVar[str] = "ShipmentEvent"

    shipment_id: Ident
    order_ids: Annotated[list[Ident], Field(max_length=1000)]
    status: ShipmentStatus
    mode: TransportMode
    origin_park: ParkId
    destination_park: ParkId
    corridor: CorridorId
    checkpoint: Checkpoint | None = None
    planned_arrival: Timestamp
    estimated_arrival: Timestamp | None = None

    def key(self) -> str:
        return self.shipment_id


class CapacityEvent(ParkEvent):
    schema_name: ClassVar[str] = "CapacityEvent"

    park_id: ParkId
    category: Category
    week_start: date
    actual_capacity: Amount
    maximum_capacity: Amount | None = None
    unit: Annotated[str, StringConstraints(min_length=1, max_length=16)]
    reason: Annotated[str, StringConstraints(max_length=500)] | None = None

    @field_validator("week_start")
    @classmethod
    def _monday(cls, value: date) -> date:
        if value.isoweekday() != 1:
            raise ValueError(f"must be the Monday of an ISO week ({value} is not a Monday)")
        return value

    @model_validator(mode="after")
    def _own_park(self) -> CapacityEvent:
        if self.park_id != self.source_park:
            raise ValueError(
                "park_id must equal source_park: a park declares only its own capacity"
            )
        if self.maximum_capacity is not None and self.maximum_capacity < self.actual_capacity:
            raise ValueError("maximum_capacity must not be below actual_capacity")
        return self

    def key(self) -> str:
        return capacity_key(self.park_id, self.category, self.week_start)


class DisruptionAlert(Record):
    schema_name: ClassVar[str] = "DisruptionAlert"

    alert_id: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    type: Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z_]*$")]
    severity: Severity
    status: AlertStatus
    subject: Annotated[str, StringConstraints(min_length=1, max_length=250)]
    parks: list[str]
    impacted_orders: list[str]
    impacted_shipments: list[str]
    summary: str
    evidence: list[str]
    metrics: dict[str, float]
    started_at: Timestamp
    updated_at: Timestamp
    resolved_at: Timestamp | None = None
    corridor: str | None = None

    @field_validator("metrics")
    @classmethod
    def _finite(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [k for k, v in value.items() if not math.isfinite(v)]
        if bad:
            raise ValueError(f"metrics must be finite numbers: {', '.join(sorted(bad))}")
        return value

    def key(self) -> str:
        return self.alert_id


def capacity_key(park_id: str, category: str, week_start: date) -> str:
    return f"{park_id}|{category}|{week_start.isoformat()}"


def alert_id(alert_type: str, subject: str) -> str:
    return f"{alert_type}|{subject}"


def now_utc() -> datetime:
    return _millis(datetime.now(UTC))


PARK_EVENT_MODELS: dict[str, type[ParkEvent]] = {
    "orders": OrderEvent,
    "shipments": ShipmentEvent,
    "capacity": CapacityEvent,
}
RECORD_MODELS: dict[str, type[Record]] = {
    m.schema_name: m for m in (OrderEvent, ShipmentEvent, CapacityEvent, DisruptionAlert)
}
