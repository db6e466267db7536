"""The project's error types: one line a user can act on, never a bare traceback. Besides the
base class, the errors of publishing park events, which the SDK raises and the HTTP gateway
maps to status codes (each class to one status)."""

from __future__ import annotations

from typing import Any

MAX_DETAILS = 100
"""Details an error carries at most: a batch of 10,000 broken events must not produce a
10,000-line error body."""


class ParkLinkError(Exception):
    """An error whose message is complete enough to be shown to the user as it is."""


class PublishError(ParkLinkError):
    """Base of the errors of publishing park events."""


class EventRejected(PublishError):
    """One or more events break the contract or its bounds; `details` say which (index),
    where (path) and why (message, type). The gateway answers 422."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


class ForeignPark(PublishError):
    """An event speaks for another park than the publisher's own, or for a party or a side
    the publisher is not; each detail names the `rule` broken. The gateway answers 403."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


class UnknownKind(PublishError):
    """Not one of the park event kinds (orders, shipments, capacity)."""


class DeliveryFailed(PublishError):
    """Kafka (or the schema registry) did not take the events; `failed` holds their event ids.
    The gateway answers 503."""

    def __init__(self, message: str, failed: list[str] | None = None) -> None:
        super().__init__(message)
        self.failed = failed or []
