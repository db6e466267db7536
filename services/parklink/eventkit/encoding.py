"""Park events -> Kafka records: the topic of each kind, the record key (the entity id; for
capacity `park_id|category|week_start`) and the Confluent-framed Avro value (schema id from the
registry, registered on first use). Shared by the HTTP gateway and the publisher SDK."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parklink.eventkit.catalog import Catalog, load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent
from parklink.eventkit.schemas import parsed_schema, schema_dict
from parklink.eventkit.serde import SchemaMismatch, SchemaSource, Serializer, encode_body
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
        self._schemas = {k: parsed_schema(m.schema_name) for k, m in PARK_EVENT_MODELS.items()}
        self._tagged = {k: _record_unions(m.schema_name) for k, m in PARK_EVENT_MODELS.items()}

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
        frames their models, byte for byte."""
        header = self._serializers[kind].header
        schema, tagged = self._schemas[kind], self._tagged[kind]
        out = []
        for event in events:
            record = event.record
            for name, tag in tagged:
                nested = record[name]
                if nested is not None:  # name the union's branch: fastavro need not try each
                    record = {**record, name: (tag, nested)}
            try:
                body = encode_body(schema, record)
            except (ValueError, TypeError, KeyError) as exc:
                raise SchemaMismatch(f"{kind} event does not fit its schema: {exc}") from exc
            out.append((event.key.encode(), header + body))
        return out


def _record_unions(name: str) -> list[tuple[str, str]]:
    """(field, full name of the record) of every field that is a union of null and a record."""
    schema = schema_dict(name)
    namespace = schema.get("namespace", "")
    out = []
    for field in schema["fields"]:
        branches: Any = field["type"]
        if not isinstance(branches, list):
            continue
        for branch in branches:
            if isinstance(branch, dict) and branch.get("type") == "record":
                full = branch["name"] if "." in branch["name"] else f"{namespace}.{branch['name']}"
                out.append((field["name"], full))
    return out
