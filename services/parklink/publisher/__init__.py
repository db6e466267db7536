"""The publisher SDK for parks with Kafka access (`Publisher`). The validation, framing and
error types it applies are the shared library's (`parklink.eventkit`), the same the HTTP
gateway applies; the errors are re-exported here for the SDK's users."""

from parklink.eventkit.errors import (
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
