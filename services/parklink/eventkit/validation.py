"""Turning what a park sends into contract models: the one validation the gateway and the SDK
share (`admit`): the park's own events only, the contract with its field bounds, the party
rules, the time bounds. No I/O (the clock is passed in). A batch is all or nothing: any bad
item rejects the whole batch, and every problem is reported with the item's index and the
field path inside it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple, TypeVar

from pydantic import TypeAdapter, ValidationError

from parklink.eventkit.bounds import TimeBounds, check_event_times
from parklink.eventkit.contracts import (
    CATEGORY_PATTERN,
    CORRIDOR_PATTERN,
    FIRST_YEAR,
    LAST_YEAR,
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_MEASURE,
    MAX_ORDER_IDS,
    MAX_REASON_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_UNIT_LENGTH,
    MIN_MEASURE,
    PARK_EVENT_MODELS,
    PARK_ID_PATTERN,
    CapacityEvent,
    OrderEvent,
    OrderStatus,
    ParkEvent,
    ShipmentEvent,
    ShipmentStatus,
    TransportMode,
    _uuid_text,
    capacity_key,
)
from parklink.eventkit.errors import MAX_DETAILS, EventRejected, UnknownKind
from parklink.eventkit.parties import check_own_park, check_parties, order_problem, shipment_problem

KINDS = tuple(PARK_EVENT_MODELS)


def model_of(kind: str) -> type[ParkEvent]:
    try:
        return PARK_EVENT_MODELS[kind]
    except KeyError as exc:
        raise UnknownKind(f"unknown event kind {kind!r}; one of {', '.join(KINDS)}") from exc


@cache
def _adapter(kind: str) -> TypeAdapter[list[ParkEvent]]:
    return TypeAdapter(list[model_of(kind)])  # type: ignore[misc,arg-type]


def field_path(loc: Sequence[int | str]) -> str:
    """`("value", "currency")` -> `value.currency`; `("order_ids", 2)` -> `order_ids[2]`."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validate_batch(kind: str, items: list[Any]) -> list[ParkEvent]:
    """The items as models, or EventRejected naming every problem (index + field path)."""
    if not items:
        raise EventRejected(
            "empty batch: send one event object or a non-empty array of them",
            [{"index": None, "path": "", "message": "array is empty"}],
        )
    try:
        return _adapter(kind).validate_python(items)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        details = [
            {
                "index": err["loc"][0] if err["loc"] else None,
                "path": field_path(err["loc"][1:]),
                "message": _message(err["msg"]),
                "type": err["type"],
            }
            for err in errors
        ]
        bad = sorted({d["index"] for d in details if isinstance(d["index"], int)})
        shown = ", ".join(str(i) for i in bad[:10]) + (" …" if len(bad) > 10 else "")
        first = details[0]
        raise EventRejected(
            f"{len(bad)} of {len(items)} {kind} event(s) break the contract (index {shown}); "
            f"first: [{first['index']}] {first['path'] or '(item)'}: {first['message']}",
            details[:MAX_DETAILS],
        ) from exc


def validate_one(kind: str, item: Any) -> ParkEvent:
    return validate_batch(kind, [item])[0]


def admit(
    kind: str, items: list[Any], park: str, now: datetime, bounds: TimeBounds
) -> list[ParkEvent]:
    """Raw items of one kind from `park` as models, if every one may enter the network:
    ForeignPark (403) for another park's event or a broken party rule, EventRejected (422)
    for a contract violation or an event_time out of bounds."""
    check_own_park(kind, items, park)
    return admit_events(validate_batch(kind, items), park, now, bounds)


def admit_events(
    events: Sequence[ParkEvent], park: str, now: datetime, bounds: TimeBounds
) -> list[ParkEvent]:
    """Models from `park`, if every one may enter the network (the checks of `admit` after
    validation)."""
    check_parties(events, park)
    check_event_times(events, now, bounds)
    return list(events)


def _message(msg: str) -> str:
    return msg.removeprefix("Value error, ")


# -- the fast lane -----------------------------------------------------------------------------
# Validating a dict into a model costs more than encoding and producing it. Most batches are
# fine, so the SDK first runs a plain check of the dicts against the same bounds: it takes a
# batch only when every item is certainly admitted and gives the items as their Avro values.
# At the least doubt (another type, a format the contract's parser would read but this check
# does not, any broken rule) it answers None and `admit` judges the batch, so refusals and
# their messages are always those of `admit`. A property test holds the two to the same
# verdicts and the same records.

PlainRecord = dict[str, Any]
"""An event as its Avro values: timestamps as epoch milliseconds, dates as epoch days, enums
and nested records as their text and dicts."""


class Plain(NamedTuple):
    key: str
    event_id: str
    record: PlainRecord


class _Doubt(Exception):
    """Not certainly admitted: leave the batch to `admit`."""


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_PARK = re.compile(PARK_ID_PATTERN)
_CATEGORY = re.compile(CATEGORY_PATTERN)
_CORRIDOR = re.compile(CORRIDOR_PATTERN)
_CURRENCY = re.compile(r"[A-Z]{3}")
_IDENT = re.compile(rf"[\x21-\x7b\x7d\x7e]{{1,{MAX_ID_LENGTH}}}")
"""Printable ASCII without space and `|`: a subset of the contract's ids (others: `admit`)."""
_STAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ORDER_STATUSES = frozenset(OrderStatus)
_SHIPMENT_STATUSES = frozenset(ShipmentStatus)
_MODES = frozenset(TransportMode)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Doubt
    return value


class _Known:
    """A check of strings from a small set (park ids, categories, units ...) that come again
    and again: one found good is remembered (up to a bound), a set lookup costs less than the
    check."""

    def __init__(self, check: Callable[[str], bool]) -> None:
        self._check = check
        self._good: set[str] = set()

    def __call__(self, value: Any) -> str:
        if type(value) is not str:
            raise _Doubt
        if value not in self._good:
            if not self._check(value):
                raise _Doubt
            if len(self._good) < KNOWN_LIMIT:
                self._good.add(value)
        return value


KNOWN_LIMIT = 10_000


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda value: pattern.fullmatch(value) is not None


def _printable_ascii(longest: int, shortest: int = 1) -> Callable[[str], bool]:
    """Of a length within the bounds, and printable ASCII (so without control characters);
    other texts are left to `admit`."""
    return lambda v: shortest <= len(v) <= longest and v.isascii() and v.isprintable()


_park = _Known(_matches(_PARK))
_category = _Known(_matches(_CATEGORY))
_currency = _Known(_matches(_CURRENCY))
_corridor = _Known(lambda v: len(v) <= 64 and _CORRIDOR.fullmatch(v) is not None)
_sku = _Known(_printable_ascii(MAX_TEXT_LENGTH))
_place = _Known(_printable_ascii(MAX_TEXT_LENGTH))
_unit = _Known(_printable_ascii(MAX_UNIT_LENGTH))
_reason = _Known(_printable_ascii(MAX_REASON_LENGTH, shortest=0))


def _ident(value: Any) -> str:
    if type(value) is not str or _IDENT.fullmatch(value) is None:
        raise _Doubt
    return value


def _number(value: Any, low: float, high: float) -> float:
    if type(value) is float:
        if not low <= value <= high:  # False for NaN, and for infinities beyond the bounds
            raise _Doubt
        return value
    if type(value) is int and low <= value <= high:
        return float(value)
    raise _Doubt


def _measure_value(value: Any) -> float:
    number = _number(value, 0.0, MAX_MEASURE)
    if 0 < number < MIN_MEASURE:
        raise _Doubt
    return number


_When = TypeVar("_When", date, datetime)


def _in_years(text: str, form: re.Pattern[str], parse: Callable[[str], _When]) -> _When:
    """`text` parsed, if it has the form and its year is one of the contract's."""
    if form.fullmatch(text) is None:
        raise _Doubt
    try:
        when = parse(text)
    except ValueError as exc:
        raise _Doubt from exc
    if not FIRST_YEAR <= when.year <= LAST_YEAR:
        raise _Doubt
    return when


def _millis(value: Any) -> int:
    if type(value) is not str:
        raise _Doubt
    return (_in_years(value, _STAMP, datetime.fromisoformat) - _EPOCH) // _MS


def _day(value: Any) -> date:
    """A date of the contract's years; the few distinct due dates and weeks are remembered."""
    if type(value) is not str:
        raise _Doubt
    day = _DAYS.get(value)
    if day is None:
        day = _in_years(value, _DAY, date.fromisoformat)
        if len(_DAYS) < KNOWN_LIMIT:
            _DAYS[value] = day
    return day


_DAYS: dict[str, date] = {}


class _Times(NamedTuple):
    """How a check reads the contract's times and dates: as the JSON text a park sends, or as
    the epoch numbers of a record read from Kafka (`Deserializer.read_values`)."""

    stamp: Callable[[Any], int]
    """A timestamp field -> epoch milliseconds."""
    day: Callable[[Any], date]


_FIRST_MS = (datetime(FIRST_YEAR, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
_END_MS = (datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC) - _EPOCH) // _MS
_FIRST_DAY = date(FIRST_YEAR, 1, 1).toordinal() - _EPOCH_DAY
_END_DAY = date(LAST_YEAR + 1, 1, 1).toordinal() - _EPOCH_DAY


def _epoch_millis(value: Any) -> int:
    if type(value) is not int or not _FIRST_MS <= value < _END_MS:
        raise _Doubt
    return value


def _epoch_day(value: Any) -> date:
    if type(value) is not int or not _FIRST_DAY <= value < _END_DAY:
        raise _Doubt
    return epoch_date(value)


def epoch_date(epoch_day: int) -> date:
    """The date of an Avro date's epoch day; the few distinct due dates and weeks of a stream
    are remembered (up to a bound)."""
    day = _EPOCH_DAYS.get(epoch_day)
    if day is None:
        day = date.fromordinal(epoch_day + _EPOCH_DAY)
        if len(_EPOCH_DAYS) < KNOWN_LIMIT:
            _EPOCH_DAYS[epoch_day] = day
    return day


_EPOCH_DAYS: dict[int, date] = {}
_TEXT_TIMES = _Times(_millis, _day)
_EPOCH_TIMES = _Times(_epoch_millis, _epoch_day)


def _event_id(value: Any) -> str:
    try:
        return _uuid_text(_str(value))
    except ValueError as exc:
        raise _Doubt from exc


def _fields(item: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """`item` if it is a dict without fields of other names. A required field that is missing
    raises KeyError where the check reads it (every check reads all of them)."""
    if type(item) is not dict:
        raise _Doubt
    count = len(required)
    for name in optional:
        if name in item:
            count += 1
    if len(item) != count:
        raise _Doubt
    return item


def _fields_of(model: type[ParkEvent]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    fields = model.model_fields
    required = tuple(n for n, f in fields.items() if f.is_required())
    return required, tuple(n for n in fields if n not in required)


_ORDER_FIELDS = _fields_of(OrderEvent)
_SHIPMENT_FIELDS = _fields_of(ShipmentEvent)
_CAPACITY_FIELDS = _fields_of(CapacityEvent)
_MONEY_FIELDS = ("amount", "currency")
_CHECKPOINT_FIELDS = ("name", "lat", "lon")


def _order(item: Any, park: str, times: _Times) -> Plain:
    d = _fields(item, *_ORDER_FIELDS)
    _park(d["source_park"])
    status = d["status"]
    if type(status) is not str or status not in _ORDER_STATUSES:
        raise _Doubt
    order_id = _ident(d["order_id"])
    buyer, supplier = _park(d["buyer_park"]), _park(d["supplier_park"])
    if d["source_park"] != park or order_problem(park, buyer, supplier, status, order_id):
        raise _Doubt
    value = d.get("value")
    if value is not None:
        money = _fields(value, _MONEY_FIELDS)
        amount = _number(money["amount"], 0.0, MAX_AMOUNT)
        value = {"amount": amount, "currency": _currency(money["currency"])}
    category = _category(d["category"])
    event_id = _event_id(d["event_id"])
    record = {
        "event_id": event_id,
        "event_time": times.stamp(d["event_time"]),
        "source_park": park,
        "order_id": order_id,
        "status": status,
        "buyer_park": buyer,
        "supplier_park": supplier,
        "sku": _sku(d["sku"]),
        "category": category,
        "quantity": _measure_value(d["quantity"]),
        "unit": _unit(d["unit"]),
        "due_date": times.day(d["due_date"]).toordinal() - _EPOCH_DAY,
        "value": value,
    }
    return Plain(order_id, event_id, record)


def _shipment(item: Any, park: str, times: _Times) -> Plain:
    d = _fields(item, *_SHIPMENT_FIELDS)
    _park(d["source_park"])
    shipment_id = _ident(d["shipment_id"])
    origin, destination = _park(d["origin_park"]), _park(d["destination_park"])
    if d["source_park"] != park or shipment_problem(park, origin, destination, shipment_id):
        raise _Doubt
    status, mode = d["status"], d["mode"]
    if type(status) is not str or status not in _SHIPMENT_STATUSES:
        raise _Doubt
    if type(mode) is not str or mode not in _MODES:
        raise _Doubt
    order_ids = d["order_ids"]
    if type(order_ids) is not list or len(order_ids) > MAX_ORDER_IDS:
        raise _Doubt
    corridor = _corridor(d["corridor"])
    checkpoint = d.get("checkpoint")
    if checkpoint is not None:
        point = _fields(checkpoint, _CHECKPOINT_FIELDS)
        checkpoint = {
            "name": _place(point["name"]),
            "lat": _number(point["lat"], -90.0, 90.0),
            "lon": _number(point["lon"], -180.0, 180.0),
        }
    estimated = d.get("estimated_arrival")
    event_id = _event_id(d["event_id"])
    record = {
        "event_id": event_id,
        "event_time": times.stamp(d["event_time"]),
        "source_park": park,
        "shipment_id": shipment_id,
        "order_ids": [_ident(o) for o in order_ids],
        "status": status,
        "mode": mode,
        "origin_park": origin,
        "destination_park": destination,
        "corridor": corridor,
        "checkpoint": checkpoint,
        "planned_arrival": times.stamp(d["planned_arrival"]),
        "estimated_arrival": None if estimated is None else times.stamp(estimated),
    }
    return Plain(shipment_id, event_id, record)


def _capacity(item: Any, park: str, times: _Times) -> Plain:
    d = _fields(item, *_CAPACITY_FIELDS)
    _park(d["source_park"])
    if d["source_park"] != park or d["park_id"] != park:
        raise _Doubt
    category = _category(d["category"])
    week = times.day(d["week_start"])
    if week.isoweekday() != 1:
        raise _Doubt
    actual = _measure_value(d["actual_capacity"])
    maximum = d.get("maximum_capacity")
    if maximum is not None:
        maximum = _measure_value(maximum)
        if maximum < actual:
            raise _Doubt
    reason = d.get("reason")
    if reason is not None:
        reason = _reason(reason)
    event_id = _event_id(d["event_id"])
    record = {
        "event_id": event_id,
        "event_time": times.stamp(d["event_time"]),
        "source_park": park,
        "park_id": park,
        "category": category,
        "week_start": week.toordinal() - _EPOCH_DAY,
        "actual_capacity": actual,
        "maximum_capacity": maximum,
        "unit": _unit(d["unit"]),
        "reason": reason,
    }
    return Plain(capacity_key(park, category, week), event_id, record)


_PLAIN_CHECKS = {"orders": _order, "shipments": _shipment, "capacity": _capacity}


def admit_plain(
    kind: str, items: list[Any], park: str, now: datetime, bounds: TimeBounds
) -> list[Plain] | None:
    """The items as plain records, if every one is certainly admitted by `admit`; None when
    `admit` must judge them (and give the refusal, if there is one)."""
    check = _PLAIN_CHECKS.get(kind)
    if check is None or not items:
        return None
    earliest = -((_EPOCH - (now - bounds.horizon)) // _MS)  # rounded up, as latest is down
    latest = (now + bounds.skew - _EPOCH) // _MS
    try:
        plain = [check(item, park, _TEXT_TIMES) for item in items]
    except (_Doubt, KeyError, TypeError):
        return None
    for p in plain:
        if not earliest <= p.record["event_time"] <= latest:
            return None
    return plain


def contract_values(kind: str, values: dict[str, Any]) -> Plain | None:
    """A record read from Kafka as the wire holds it (`Deserializer.read_values`), if it is
    certainly within the contract and keeps the party rules of its own source park: the same
    check as `admit_plain`'s, on epoch numbers instead of text. None at the least doubt: the
    contract model then judges the record, so a refusal and its message are the model's."""
    check = _PLAIN_CHECKS.get(kind)
    if check is None:
        return None
    try:
        return check(values, values["source_park"], _EPOCH_TIMES)
    except (_Doubt, KeyError, TypeError):
        return None
