"""What the gateway decides about a request before Kafka sees it: who sent it, whether the body
is JSON of the right shape and size, whether every event is valid and the park's own. No I/O;
each refusal is a `Rejection` carrying the HTTP status and the DESIGN §6 error fields."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from parklink.eventkit.contracts import ParkEvent
from parklink.eventkit.tokens import Principal, Role, TokenError, TokenStore
from parklink.publisher.errors import EventRejected, ForeignPark
from parklink.publisher.validation import check_own_park, validate_batch

JSON_TYPES = ("application/json",)


@dataclass
class Rejection(Exception):
    status: int
    code: str
    message: str
    details: list[Any] = field(default_factory=list)
    headers: dict[str, str] | None = None
    events: int = 1
    """How many events the request held, when known (for the rejected-events metric)."""


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


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


def admit(kind: str, items: list[Any], park: str) -> list[ParkEvent]:
    """The events as models if they are all the park's own and all valid (403 / 422)."""
    try:
        check_own_park(kind, items, park)
        return validate_batch(kind, items)
    except ForeignPark as exc:
        raise Rejection(403, "foreign_park", str(exc), exc.details, events=len(items)) from exc
    except EventRejected as exc:
        raise Rejection(
            422, "invalid_events", str(exc), exc.details, events=max(len(items), 1)
        ) from exc
