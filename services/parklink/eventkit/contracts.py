"""Pydantic models of the Avro records in `schemas/`. The contract tests round-trip every model
through its `.avsc`, so the two cannot drift apart. The models hold the field bounds that do
not depend on the clock (docs/bounds.md lists them, the `.avsc` docs repeat them): finite
numbers within stated ranges, ids and texts of bounded length without control characters,
lists of bounded size, dates and times within the years 2000-2099 (the simulator's dates run
faster than the clock, so no rule ties them to event_time). The bounds of event_time against
the clock are in `parklink.eventkit.bounds`."""

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
    WithJsonSchema,
    field_validator,
    model_validator,
    with_config,
)
from typing_extensions import TypedDict

PARK_ID_PATTERN = r"^[A-Z]{2}-[A-Z0-9]{2,6}-[A-Z0-9]{2,16}$"
CATEGORY_PATTERN = r"^[0-9]{4}$"
CORRIDOR_PATTERN = r"^[A-Z0-9]+(-[A-Z0-9]+)+$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
"""C0 and C1 control characters (NUL, newline, escape ...): never in an id or a text."""

MAX_ID_LENGTH = 128
MAX_TEXT_LENGTH = 200
MAX_REASON_LENGTH = 500
MAX_UNIT_LENGTH = 16
MAX_ORDER_IDS = 1000
MAX_MEASURE = 1e9
"""Largest quantity or capacity, in the unit of its category."""
MIN_MEASURE = 1e-3
"""Smallest non-zero quantity or capacity: a ratio of two measures stays finite."""
MAX_AMOUNT = 1e15
FIRST_YEAR, LAST_YEAR = 2000, 2099


def _printable(value: str) -> str:
    if _CONTROL.search(value) is not None:
        raise ValueError("must not contain control characters (NUL, newline, escape ...)")
    return value


# What the validators below check is stated in the JSON Schema too (the gateway's OpenAPI
# document is made from these models), written for JSON Schema's regex dialect, which has
# neither Python's nor Rust's meaning of `\s`: a client or a test generator that follows the
# document sends nothing the gateway refuses for a reason the document does not state.
_NO_CONTROL = r"\x00-\x1f\x7f-\x9f"
_WHITESPACE = r"\x20\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
IDENT_JSON_PATTERN = f"^[^|{_NO_CONTROL}{_WHITESPACE}]+$"
"""No `|` (the key separator), no control character, no white space."""
PRINTABLE_JSON_PATTERN = f"^[^{_NO_CONTROL}]*$"
IN_YEARS_JSON_PATTERN = "^20[0-9]{2}-"
"""A date or date-time of the years 2000-2099, as written (before any time-zone shift)."""


def _text_schema(min_length: int, max_length: int, pattern: str) -> WithJsonSchema:
    return WithJsonSchema(
        {"type": "string", "minLength": min_length, "maxLength": max_length, "pattern": pattern}
    )


ParkId = Annotated[str, StringConstraints(pattern=PARK_ID_PATTERN)]
Category = Annotated[str, StringConstraints(pattern=CATEGORY_PATTERN)]
CorridorId = Annotated[str, StringConstraints(pattern=CORRIDOR_PATTERN, max_length=64)]
Ident = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[^|\s]+$"),
    AfterValidator(_printable),
    _text_schema(1, MAX_ID_LENGTH, IDENT_JSON_PATTERN),
]
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH),
    AfterValidator(_printable),
    _text_schema(1, MAX_TEXT_LENGTH, PRINTABLE_JSON_PATTERN),
]
Unit = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_UNIT_LENGTH),
    AfterValidator(_printable),
    _text_schema(1, MAX_UNIT_LENGTH, PRINTABLE_JSON_PATTERN),
]
Reason = Annotated[
    str,
    StringConstraints(max_length=MAX_REASON_LENGTH),
    AfterValidator(_printable),
    _text_schema(0, MAX_REASON_LENGTH, PRINTABLE_JSON_PATTERN),
]


def _measure(value: float) -> float:
    if 0 < value < MIN_MEASURE:
        raise ValueError(f"must be 0 or at least {MIN_MEASURE:g}")
    return value


Measure = Annotated[
    float,
    Field(ge=0, le=MAX_MEASURE, allow_inf_nan=False),
    AfterValidator(_measure),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "enum": [0]},
                {"type": "number", "minimum": MIN_MEASURE, "maximum": MAX_MEASURE},
            ]
        }
    ),
]
MoneyAmount = Annotated[float, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UUID_JSON_PATTERN = "^" + _UUID.pattern.replace("a-f", "a-fA-F") + "$"
"""Either case: the validator takes the lower-case text."""


def _uuid_text(value: str) -> str:
    """The canonical (lower-case, hyphenated) text of a UUID; a regex, not uuid.UUID, because
    this runs for every event on the publish hot path."""
    text = value.lower()
    if _UUID.fullmatch(text) is None:
        raise ValueError("must be a UUID, e.g. 0f8c5f2e-3b8a-4d55-9a43-6d1c2b7f9e10")
    return text


def _in_years(value: date) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"must lie in the years {FIRST_YEAR}-{LAST_YEAR}")


def _bounded_date(value: date) -> date:
    _in_years(value)
    return value


def _millis(value: datetime) -> datetime:
    """Avro timestamp-millis keeps milliseconds; keep models equal to what the wire holds."""
    micros = value.microsecond % 1000
    if value.tzinfo is UTC:
        return value.replace(microsecond=value.microsecond - micros) if micros else value
    try:
        return value.astimezone(UTC).replace(microsecond=value.microsecond - micros)
    except OverflowError as exc:  # year 9999 with a negative offset, year 1 with a positive
        raise ValueError("is outside the range of datetimes") from exc


def _bounded_millis(value: datetime) -> datetime:
    """A park event's time: in the years of the contract (checked before the conversion)."""
    _in_years(value)
    return _millis(value)


EventId = Annotated[
    str,
    AfterValidator(_uuid_text),
    WithJsonSchema({"type": "string", "format": "uuid", "pattern": UUID_JSON_PATTERN}),
]
Timestamp = Annotated[AwareDatetime, AfterValidator(_millis)]
EventTimestamp = Annotated[
    AwareDatetime,
    AfterValidator(_bounded_millis),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": IN_YEARS_JSON_PATTERN}),
]
"""The timestamps of park events (alerts keep Timestamp: their times are the detector's)."""
Day = Annotated[
    date,
    AfterValidator(_bounded_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": IN_YEARS_JSON_PATTERN}),
]


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
        """The Kafka key of the record: the entity id (`park_id|category|week_start` for
        capacity), so that every event of one entity lands on one partition, in order."""


# Nested records are validated TypedDicts, not models: a nested model costs as much to
# validate as the rest of the event, and a dict is what the Avro encoder takes anyway.
@with_config(ConfigDict(extra="forbid"))
class Money(TypedDict):
    amount: MoneyAmount
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


@with_config(ConfigDict(extra="forbid"))
class Checkpoint(TypedDict):
    name: Text
    lat: Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
    lon: Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]


class ParkEvent(Record):
    """Fields every park event carries."""

    event_id: EventId
    event_time: EventTimestamp
    source_park: ParkId


class OrderEvent(ParkEvent):
    schema_name: ClassVar[str] = "OrderEvent"

    order_id: Ident
    status: OrderStatus
    buyer_park: ParkId
    supplier_park: ParkId
    sku: Text
    category: Category
    quantity: Measure
    unit: Unit
    due_date: Day
    value: Money | None = None

    def key(self) -> str:
        return self.order_id


class ShipmentEvent(ParkEvent):
    schema_name: ClassVar[str] = "ShipmentEvent"

    shipment_id: Ident
    order_ids: Annotated[list[Ident], Field(max_length=MAX_ORDER_IDS)]
    status: ShipmentStatus
    mode: TransportMode
    origin_park: ParkId
    destination_park: ParkId
    corridor: CorridorId
    checkpoint: Checkpoint | None = None
    planned_arrival: EventTimestamp
    estimated_arrival: EventTimestamp | None = None

    def key(self) -> str:
        return self.shipment_id


class CapacityEvent(ParkEvent):
    schema_name: ClassVar[str] = "CapacityEvent"

    park_id: ParkId
    category: Category
    week_start: Annotated[Day, Field(description="The Monday of the ISO week declared.")]
    actual_capacity: Measure
    maximum_capacity: Annotated[
        Measure | None, Field(description="When given, at least actual_capacity.")
    ] = None
    unit: Unit
    reason: Reason | None = None

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
