"""Park events -> Kafka records: the topic of each kind, the record key (the entity id; for
capacity `park_id|category|week_start`) and the Confluent-framed Avro value (schema id from the
registry, registered on first use). Shared by the HTTP gateway and the publisher SDK."""

from __future__ import annotations

from collections.abc import Sequence

from parklink.eventkit.catalog import Catalog, load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent
from parklink.eventkit.serde import SchemaSource, Serializer
from parklink.eventkit.validation import model_of

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
