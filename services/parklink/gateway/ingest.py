"""What the gateway decides about a request before Kafka sees it: who sent it, whether the body
is JSON of the right shape and size, whether every event is valid and the park's own. No I/O;
each refusal is a `Rejection`: the HTTP status and the fields of the shared JSON error body
(`code`, `message`, `details`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import ParkEvent
from parklink.eventkit.errors import EventRejected, ForeignPark
from parklink.eventkit.tokens import Principal, Role, TokenError, TokenStore
from parklink.eventkit.validation import admit as admit_batch
from parklink.eventkit.web import ApiError, bearer

JSON_TYPES = ("application/json",)


class Rejection(ApiError):
    """A refused request; `events` is how many events it held, when known (for the
    rejected-events metric)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        events: int = 1,
    ) -> None:
        super().__init__(status, code, message, details, headers)
        self.events = events


def authenticate(tokens: TokenStore, authorization: str | None) -> Principal:
    """The park behind the request's bearer token (401 / 403 otherwise)."""
    try:
        principal = tokens.verify(bearer(authorization))
    except TokenError as exc:
        raise Rejection(
            401,
            "unauthorized",
            f"{exc}: send `Authorization: Bearer <park token>` "
            "(issued with `parklink token issue --park ID`)",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    if principal.role is not Role.PARK:
        raise Rejection(
            403,
            "not_a_park_token",
            f"token {principal.token_id} belongs to operator {principal.name!r}; "
            "publishing needs a park token",
        )
    return principal


def check_content_type(header: str | None) -> None:
    media = (header or "").split(";", 1)[0].strip().lower()
    if media not in JSON_TYPES:
        raise Rejection(
            415,
            "unsupported_media_type",
            f"Content-Type must be application/json, not {header or 'missing'!r}",
        )


def check_declared_length(header: str | None, limit: int) -> None:
    """Refuse by Content-Length before reading anything."""
    if header is None:
        return
    try:
        length = int(header)
    except ValueError as exc:
        raise Rejection(400, "bad_request", f"Content-Length {header!r} is not a number") from exc
    if length > limit:
        raise body_too_large(limit)


def body_too_large(limit: int) -> Rejection:
    return Rejection(
        413,
        "body_too_large",
        f"request body larger than {limit} bytes; split the events into several requests",
    )


def parse_items(body: bytes, max_batch: int) -> list[Any]:
    """The body as a list of raw items: one JSON object or a JSON array of them."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejection(400, "bad_json", f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:
        # An event is at most three levels deep; thousands of nested arrays are an attack.
        raise Rejection(400, "bad_json", "request body is nested too deeply") from exc
    if isinstance(doc, dict):
        return [doc]
    if not isinstance(doc, list):
        raise Rejection(
            422,
            "invalid_events",
            f"body must be an event object or an array of them, not a JSON {type(doc).__name__}",
            [{"index": None, "path": "", "message": "expected an object or an array"}],
        )
    if len(doc) > max_batch:
        raise Rejection(
            413,
            "batch_too_large",
            f"{len(doc)} events in one request; at most {max_batch} are allowed",
            events=len(doc),
        )
    return doc


def admit(
    kind: str, items: list[Any], park: str, now: datetime, bounds: TimeBounds
) -> list[ParkEvent]:
    """The events as models if the park may publish every one and every one is valid and
    within bounds (403 / 422)."""
    try:
        return admit_batch(kind, items, park, now, bounds)
    except ForeignPark as exc:
        raise Rejection(403, "foreign_park", str(exc), exc.details, events=len(items)) from exc
    except EventRejected as exc:
        raise Rejection(
            422, "invalid_events", str(exc), exc.details, events=max(len(items), 1)
        ) from exc
