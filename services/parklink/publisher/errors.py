"""What publishing can fail with. Every error is a ParkLinkError, so the CLI shows it as one
line; the HTTP gateway maps each class to its status code."""

from __future__ import annotations

from typing import Any

from parklink.eventkit.errors import ParkLinkError


class PublishError(ParkLinkError):
    """Base of the publisher's errors."""


class EventRejected(PublishError):
    """One or more events break the contract; `details` say which (index) and where (path)."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


class ForeignPark(PublishError):
    """An event speaks for another park than the publisher's own."""

    def __init__(self, message: str, details: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.details = details


class UnknownKind(PublishError):
    """Not one of the park event kinds (orders, shipments, capacity)."""


class DeliveryFailed(PublishError):
    """Kafka (or the schema registry) did not take the events; `failed` holds their event ids."""

    def __init__(self, message: str, failed: list[str] | None = None) -> None:
        super().__init__(message)
        self.failed = failed or []
