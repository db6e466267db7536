"""Alert list filters, keyset paging cursors, the alerts-over-time series and which state of an
alert is the current one. Pure logic; the store turns these into SQL."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from parklink.eventkit.contracts import AlertStatus, Severity

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MS_RANGE = (-(2**62), 2**62)
"""Milliseconds a cursor may carry: within the database's 64-bit integers."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CURSOR_FORMAT = "parklink-cursor"
"""The format of a page cursor in the document: a `next_cursor` this API returned."""


def one_or_more(enum: type[AlertStatus] | type[Severity]) -> str:
    """The pattern of a comma list of an enum's values."""
    one = "(" + "|".join(e.value for e in enum) + ")"
    return f"^{one}(,{one})*$"


class QueryError(ValueError):
    """A filter or cursor the API cannot use; `field` names the query parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Cursor:
    """Position after the last alert of a page (list order: updated_at desc, alert_id asc)."""

    updated_at_ms: int
    alert_id: str

    def encode(self) -> str:
        raw = json.dumps([self.updated_at_ms, self.alert_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            updated, alert_id = json.loads(raw)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise QueryError("cursor", "not a cursor returned by this API") from exc
        if (
            not isinstance(updated, int)
            or isinstance(updated, bool)
            or not MS_RANGE[0] <= updated <= MS_RANGE[1]
            or not isinstance(alert_id, str)
            or "\x00" in alert_id
        ):
            raise QueryError("cursor", "not a cursor returned by this API")
        return cls(updated, alert_id)


@dataclass(frozen=True)
class AlertQuery:
    statuses: tuple[AlertStatus, ...] = ()
    types: tuple[str, ...] = ()
    severities: tuple[Severity, ...] = ()
    park: str | None = None
    corridor: str | None = None
    since_ms: int | None = None
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None
    params: dict[str, str] = field(default_factory=dict)
    """The query parameters as given (without cursor), to build the next page's link."""


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


E = TypeVar("E", AlertStatus, Severity)


def _enum_values(name: str, value: str | None, enum: type[E]) -> tuple[E, ...]:
    out = []
    for item in _csv(value):
        try:
            out.append(enum(item.upper()))
        except ValueError as exc:
            allowed = ", ".join(e.value for e in enum)
            raise QueryError(name, f"{item!r} is not one of {allowed}") from exc
    return tuple(out)


def parse_query(
    *,
    status: str | None = None,
    type: str | None = None,
    severity: str | None = None,
    park: str | None = None,
    corridor: str | None = None,
    since: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> AlertQuery:
    """Validate the API's query parameters; comma-separated values mean "any of"."""
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError("limit", f"must be between 1 and {MAX_LIMIT}")
    since_ms = None
    if since:
        try:
            moment = parse_instant(since)
        except ValueError as exc:
            raise QueryError("since", "must be an ISO 8601 timestamp with a zone") from exc
        if moment.tzinfo is None:
            raise QueryError("since", "must carry a time zone, e.g. 2026-11-23T08:00:00Z")
        since_ms = to_ms(moment)
    for name, value in (("park", park), ("corridor", corridor), ("type", type)):
        if value and "\x00" in value:
            raise QueryError(name, "must not contain NUL characters")
    given = {
        "status": status,
        "type": type,
        "severity": severity,
        "park": park,
        "corridor": corridor,
        "since": since,
    }
    params = {k: v for k, v in given.items() if v}
    params["limit"] = str(limit)
    return AlertQuery(
        statuses=_enum_values("status", status, AlertStatus),
        types=tuple(t.upper() for t in _csv(type)),
        severities=_enum_values("severity", severity, Severity),
        park=park or None,
        corridor=corridor or None,
        since_ms=since_ms,
        limit=limit,
        cursor=Cursor.decode(cursor) if cursor else None,
        params=params,
    )


def parse_instant(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 time (`Z` or `z` for UTC, any number of second decimals)."""
    text = text.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"
    text = text.replace("t", "T", 1)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # beyond microseconds: cut
    return datetime.fromisoformat(text)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the epoch, for any aware time (also those whose UTC form is outside
    the years datetime can hold, e.g. 9999-12-31T23:00:00-05:00)."""
    if moment.tzinfo is None:
        return int(moment.timestamp() * 1000)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def supersedes(
    current: tuple[int, AlertStatus] | None, updated_at_ms: int, status: AlertStatus
) -> bool:
    """Whether a state (updated_at, status) replaces the stored current state of its alert.
    Records may be replayed or arrive out of order: the latest `updated_at` wins, and at the
    same instant a resolution wins over firing."""
    if current is None:
        return True
    cur_ms, cur_status = current
    if updated_at_ms != cur_ms:
        return updated_at_ms > cur_ms
    return cur_status == AlertStatus.FIRING and status == AlertStatus.RESOLVED


@dataclass(frozen=True)
class Span:
    """When one alert was firing: from `start_ms` to `end_ms` (None while it still fires)."""

    start_ms: int
    end_ms: int | None
    severity: Severity


@dataclass(frozen=True)
class Bucket:
    start_ms: int
    counts: dict[str, int]


def timeline(spans: Iterable[Span], start_ms: int, end_ms: int, buckets: int) -> list[Bucket]:
    """How many alerts fired at some moment of each of `buckets` equal intervals, by severity."""
    if buckets < 1 or end_ms <= start_ms:
        raise QueryError("buckets", "need at least one bucket over a non-empty interval")
    width = (end_ms - start_ms) / buckets
    out = [
        Bucket(int(start_ms + i * width), {s.value: 0 for s in Severity}) for i in range(buckets)
    ]
    for span in spans:
        for i, bucket in enumerate(out):
            bucket_end = start_ms + (i + 1) * width
            if span.start_ms < bucket_end and (
                span.end_ms is None or span.end_ms > bucket.start_ms
            ):
                bucket.counts[span.severity.value] += 1
    return out
