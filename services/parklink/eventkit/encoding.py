"""Park events -> Kafka records: the topic of each kind, the record key (the entity id; for
capacity `park_id|category|week_start`) and the Confluent-framed Avro value (schema id from the
registry, registered on first use). Shared by the HTTP gateway and the publisher SDK."""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import Any

from parklink.eventkit.catalog import Catalog, load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.schemas import schema_dict
from parklink.eventkit.serde import SchemaMismatch, SchemaSource, Serializer
from parklink.eventkit.validation import Plain, model_of

KafkaRecord = tuple[bytes, bytes]
"""(key, value) as they go on the wire."""


class EventEncoder:
    def __init__(
        self, registry: SchemaSource, topic_prefix: str, catalog: Catalog | None = None
    ) -> None:
        catalog = catalog or load_catalog()
        self._topics = {kind: catalog[kind].topic(topic_prefix) for kind in PARK_EVENT_MODELS}
        self._serializers: dict[str, Serializer[ParkEvent]] = {
            kind: Serializer(registry, model, catalog[kind].subject(topic_prefix))
            for kind, model in PARK_EVENT_MODELS.items()
        }
        self._kinds = {model: kind for kind, model in PARK_EVENT_MODELS.items()}
        self._writers = {
            k: _writer(schema_dict(m.schema_name)) for k, m in PARK_EVENT_MODELS.items()
        }

    def topic(self, kind: str) -> str:
        model_of(kind)
        return self._topics[kind]

    def prepare(self, kind: str) -> None:
        """Fetch the schema id now (raises RegistryError if the registry cannot be reached)."""
        _ = self._serializers[kind].header

    def encode_for(self, event: ParkEvent) -> tuple[bytes, bytes, str]:
        """(key, value, topic) of one event of any kind."""
        kind = self._kinds[type(event)]
        return event.key().encode(), self._serializers[kind].serialize(event), self._topics[kind]

    def encode_many(self, kind: str, events: Sequence[ParkEvent]) -> list[KafkaRecord]:
        serializer = self._serializers[kind]
        return [(e.key().encode(), serializer.serialize(e)) for e in events]

    def encode_plain(self, kind: str, events: Sequence[Plain]) -> list[KafkaRecord]:
        """The records of plain events (`validation.admit_plain`), framed like `encode_many`
        frames their models, byte for byte (a unit test holds the two writers to it)."""
        header = self._serializers[kind].header
        write = self._writers[kind]
        try:
            return [(e.key.encode(), header + write(e.record)) for e in events]
        except (ValueError, TypeError, KeyError, OverflowError, struct.error) as exc:
            raise SchemaMismatch(f"{kind} event does not fit its schema: {exc}") from exc


# -- a writer compiled from the schema ----------------------------------------------------------
# Plain records come out of the fast lane already checked against the contract, so their Avro
# body needs no type dispatch: one closure per field, made once from the `.avsc`, and the
# few distinct strings (park ids, units, categories) kept encoded. Only the types the park
# events use; any other fails when the encoder is made, not on a record.

Write = Callable[[Any], bytes]
KNOWN_STRINGS = 1024
"""Encoded strings remembered per field."""

_DOUBLE = struct.Struct("<d").pack


def _long(value: int) -> bytes:
    """Avro's zig-zag varint of a long."""
    n = (value << 1) ^ (value >> 63)
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_LENGTHS = [_long(n) for n in range(256)]


def _string() -> Write:
    known: dict[str, bytes] = {}

    def write(value: str) -> bytes:
        out = known.get(value)
        if out is None:
            raw = value.encode()
            out = (_LENGTHS[len(raw)] if len(raw) < 256 else _long(len(raw))) + raw
            if len(known) < KNOWN_STRINGS:
                known[value] = out
        return out

    return write


def _writer(schema: Any) -> Write:
    if isinstance(schema, list):
        kinds = [b if isinstance(b, str) else b["type"] for b in schema]
        if len(schema) != 2 or "null" not in kinds:
            raise ParkLinkError(f"only unions of null and one type are compiled: {kinds}")
        null = kinds.index("null")
        tag_null, tag_value = _long(null), _long(1 - null)
        branch = _writer(schema[1 - null])
        return lambda value: tag_null if value is None else tag_value + branch(value)
    kind = schema if isinstance(schema, str) else schema["type"]
    if kind == "string":
        return _string()
    if kind in ("long", "int"):  # timestamps and dates come as epoch milliseconds and days
        return _long
    if kind == "double":
        return _DOUBLE
    if kind == "enum":
        return {symbol: _long(i) for i, symbol in enumerate(schema["symbols"])}.__getitem__
    if kind == "array":
        item = _writer(schema["items"])
        return lambda value: (
            _long(len(value)) + b"".join([item(v) for v in value]) + b"\x00" if value else b"\x00"
        )
    if kind == "record":
        fields = [(f["name"], _writer(f["type"])) for f in schema["fields"]]
        return lambda value: b"".join([write(value[name]) for name, write in fields])
    raise ParkLinkError(f"no compiled writer for Avro type {kind!r}")
