"""Publishing park events: the SDK for parks with Kafka access (`Publisher`) and the validation
and framing the HTTP gateway shares with it."""

from parklink.publisher.errors import (
    DeliveryFailed,
    EventRejected,
    ForeignPark,
    PublishError,
    UnknownKind,
)
from parklink.publisher.sdk import Publisher

__all__ = [
    "DeliveryFailed",
    "EventRejected",
    "ForeignPark",
    "PublishError",
    "Publisher",
    "UnknownKind",
]
