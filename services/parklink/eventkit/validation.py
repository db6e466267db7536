"""Turning what a park sends into contract models: the one validation the gateway and the SDK
share (`admit`): the park's own events only, the contract with its field bounds, the party
rules, the time bounds. No I/O (the clock is passed in). A batch is all or nothing: any bad
item rejects the whole batch, and every problem is reported with the item's index and the
field path inside it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError

from parklink.eventkit.bounds import TimeBounds, check_event_times
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent
from parklink.eventkit.errors import MAX_DETAILS, EventRejected, UnknownKind
from parklink.eventkit.parties import check_own_park, check_parties

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
