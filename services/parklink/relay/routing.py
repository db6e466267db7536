"""Where an ingress record goes: the shared park topic when it speaks for the park that wrote
it, the dead-letter topic otherwise. No I/O beyond the decoders' schema lookups; a lookup the
registry cannot answer now (`RegistryUnavailable`) is no decision and reaches the caller."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from parklink.eventkit.access import SOURCES, ingress_park
from parklink.eventkit.catalog import Catalog
from parklink.eventkit.serde import RegistryUnavailable, SerdeError

FOREIGN_PARK = "foreign-park"
NOT_INGRESS = "not-ingress"


class Decoder(Protocol):
    """What the router needs of a deserializer: the record as a dict."""

    def decode_dict(
        self,
        data: bytes | None,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Forward:
    topic: str
    park: str


@dataclass(frozen=True)
class Reject:
    reason: str
    message: str
    park: str | None


class Router:
    def __init__(self, catalog: Catalog, prefix: str, decoders: Mapping[str, Decoder]) -> None:
        """`decoders` by role (orders, shipments, capacity)."""
        self._prefix = prefix
        self._targets = {catalog[r].name: (r, catalog[r].topic(prefix)) for r in SOURCES}
        self._decoders = decoders

    def route(
        self, topic: str, value: bytes | None, partition: int, offset: int
    ) -> Forward | Reject:
        parsed = ingress_park(self._prefix, topic)
        if parsed is None or parsed[1] not in self._targets:
            return Reject(NOT_INGRESS, f"{topic} is not an ingress topic", None)
        park, name = parsed
        role, target = self._targets[name]
        try:
            record = self._decoders[role].decode_dict(
                value, topic=topic, partition=partition, offset=offset
            )
        except RegistryUnavailable:
            raise
        except SerdeError as exc:
            return Reject(exc.reason, str(exc), park)
        claimed = record.get("source_park")
        if claimed != park:
            return Reject(
                FOREIGN_PARK,
                f"{topic} belongs to {park}, the record claims source_park {claimed!r}",
                park,
            )
        return Forward(target, park)
