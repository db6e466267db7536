"""confluent-kafka's own SchemaRegistryClient, AvroSerializer and AvroDeserializer against
`parklink registry`, and ParkLink's serde interoperating with Confluent's."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import factories
import pytest
from confluent_kafka.schema_registry import (
    Schema,
    SchemaRegistryClient,
    SchemaRegistryError,
)
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from conftest import registry_conf

from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.schemas import schema_text
from parklink.eventkit.serde import Deserializer, Serializer

pytestmark = pytest.mark.broker


@pytest.fixture
def client(registry_url: str) -> Iterator[SchemaRegistryClient]:
    yield SchemaRegistryClient(registry_conf(registry_url))


@pytest.fixture
def topic() -> str:
    return f"c{uuid.uuid4().hex[:10]}.shipments.v1"


def record(*extra: dict[str, object]) -> Schema:
    fields = [{"name": "id", "type": "string"}, *extra]
    return Schema(json.dumps({"type": "record", "name": "Probe", "fields": fields}), "AVRO")


def test_register_lookup_latest_and_by_id(
    registry_url: str, client: SchemaRegistryClient, topic: str
) -> None:
    subject = f"{topic}-value"
    v1 = record()
    v2 = record({"name": "note", "type": "string", "default": ""})
    id1 = client.register_schema(subject, v1)
    # A fresh client (no cache) registering it again gets the same id.
    assert SchemaRegistryClient(registry_conf(registry_url)).register_schema(subject, v1) == id1
    id2 = client.register_schema(subject, v2)
    assert id2 != id1

    found = client.lookup_schema(subject, v1)
    assert (found.schema_id, found.version) == (id1, 1)
    latest = client.get_latest_version(subject)
    assert (latest.schema_id, latest.version, latest.subject) == (id2, 2, subject)
    assert json.loads(latest.schema.schema_str or "") == json.loads(v2.schema_str or "")
    assert client.get_versions(subject) == [1, 2]
    assert subject in client.get_subjects()
    assert json.loads(client.get_schema(id1).schema_str or "") == json.loads(v1.schema_str or "")
    assert client.get_version(subject, 1).schema_id == id1


def test_compatibility_and_config(
    client: SchemaRegistryClient, registry_url: str, topic: str
) -> None:
    subject = f"{topic}-value"
    client.register_schema(subject, record())
    breaking = record({"name": "mode", "type": "string"})
    assert client.test_compatibility(subject, record({"name": "n", "type": "int", "default": 0}))
    assert not client.test_compatibility(subject, breaking)
    with pytest.raises(SchemaRegistryError) as info:
        client.register_schema(subject, breaking)
    assert (info.value.http_status_code, info.value.error_code) == (409, 409)
    assert "'mode'" in info.value.error_message

    writer = client
    with pytest.raises(SchemaRegistryError) as denied:  # config and deletes are the admin's
        writer.set_compatibility(subject, "NONE")
    assert denied.value.http_status_code == 403
    client = SchemaRegistryClient(registry_conf(registry_url, "admin"))
    # The stubs say str; the client returns the registry's JSON answer.
    answer: object = client.set_compatibility(subject, "NONE")
    assert answer == {"compatibility": "NONE"}
    assert client.get_compatibility(subject) == "NONE"
    level = client.get_config(subject).compatibility_level
    assert level is not None
    assert level.value == "NONE"
    client.register_schema(subject, breaking)
    assert client.get_versions(subject) == [1, 2]

    with pytest.raises(SchemaRegistryError) as info:
        client.lookup_schema(subject, record({"name": "zzz", "type": "int", "default": 1}))
    assert info.value.error_code == 40403

    assert client.delete_subject(subject) == [1, 2]
    assert subject not in client.get_subjects()


def test_avro_serializer_and_deserializer_round_trip(
    client: SchemaRegistryClient, topic: str
) -> None:
    text = schema_text("ShipmentEvent")
    ctx = SerializationContext(topic, MessageField.VALUE)
    event = factories.shipment()
    data = AvroSerializer(client, text)(event.to_avro(), ctx)
    decoded = AvroDeserializer(client)(data, ctx)
    assert ShipmentEvent.model_validate(decoded) == event


def test_parklink_serializer_read_by_confluent_and_the_reverse(
    registry_url: str, client: SchemaRegistryClient, topic: str
) -> None:
    ctx = SerializationContext(topic, MessageField.VALUE)
    ours = RegistryClient(registry_url)
    try:
        serializer = Serializer(ours, ShipmentEvent, f"{topic}-value")
        event = factories.shipment()
        framed = serializer.serialize(event)
        assert ShipmentEvent.model_validate(AvroDeserializer(client)(framed, ctx)) == event

        theirs = AvroSerializer(client, schema_text("ShipmentEvent"))
        other = factories.shipment(status="DELIVERED")
        data = theirs(other.to_avro(), ctx)
        assert data[1:5] == framed[1:5]  # the same schema got the same id on both sides
        assert Deserializer(RegistryClient(registry_url), ShipmentEvent).deserialize(data) == other
    finally:
        ours.close()
