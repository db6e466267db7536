"""What an integrator runs, unchanged: confluent-kafka's own Producer and Consumer with
SASL/SCRAM-SHA-512 over TLS (trusting the local CA) and its AvroSerializer/AvroDeserializer
with HTTP Basic (`basic.auth.user.info`), against the secured local broker and registry."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import factories
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from conftest import registry_conf
from kafka import TopicPartition
from kafka.admin import ACLOperation, ResourceType
from pydantic import SecretStr

from parklink.eventkit import access, bus, credentials
from parklink.eventkit.schemas import schema_text

pytestmark = pytest.mark.broker


def integrator(kafka_bootstrap: str, topic: str, group: str) -> dict[str, Any]:
    """librdkafka settings of a Kafka user of its own that may write and read `topic`."""
    user, password = f"integrator-{uuid.uuid4().hex[:8]}", credentials.new_password()
    client = bus.admin(kafka_bootstrap.split(","))
    try:
        access.upsert_user(client, user, password)
        ops = (ACLOperation.READ, ACLOperation.WRITE, ACLOperation.DESCRIBE)
        grants = [
            access.Grant(ResourceType.TOPIC, topic, ops),
            access.Grant(ResourceType.GROUP, group, (ACLOperation.READ,)),
        ]
        access.grant(client, user, grants)
    finally:
        client.close()
    security = bus.client_security().with_user(user, SecretStr(password))
    return {"bootstrap.servers": kafka_bootstrap, **security.confluent()}


def test_stock_clients_over_scram_tls_and_basic_auth(
    kafka_bootstrap: str, registry_url: str, new_topic: Callable[..., str]
) -> None:
    topic, group = new_topic("integrator"), f"g-{uuid.uuid4().hex[:8]}"
    conf = integrator(kafka_bootstrap, topic, group)
    assert conf["security.protocol"] == "sasl_ssl" and conf["sasl.mechanism"] == "SCRAM-SHA-512"
    serialize = AvroSerializer(
        SchemaRegistryClient(registry_conf(registry_url, "writer")),
        schema_text("ShipmentEvent"),
        conf={"auto.register.schemas": True},
    )
    event = factories.shipment().to_avro()
    ctx = SerializationContext(topic, MessageField.VALUE)
    producer = Producer({**conf, "acks": "all"})
    producer.produce(topic, key=b"SH-1", value=serialize(event, ctx))
    assert producer.flush(15) == 0

    deserialize = AvroDeserializer(SchemaRegistryClient(registry_conf(registry_url, "reader")))
    consumer = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    got = None
    try:
        for _ in range(60):
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                got = deserialize(msg.value(), ctx)
                break
    finally:
        consumer.close()
    assert got is not None and got["shipment_id"] == event["shipment_id"]


def test_stock_clients_with_wrong_credentials_get_nothing(
    kafka_bootstrap: str, registry_url: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("integrator-wrong")
    conf = integrator(kafka_bootstrap, topic, "g-wrong")
    errors: list[Any] = []
    reports: list[Any] = []
    producer = Producer(
        {**conf, "sasl.password": "wrong", "message.timeout.ms": 5000, "error_cb": errors.append}
    )
    producer.produce(topic, key=b"k", value=b"v", on_delivery=lambda err, _: reports.append(err))
    producer.flush(15)
    assert len(reports) == 1 and reports[0] is not None  # never delivered
    assert any("Authentication failed" in str(e) for e in errors), errors
    check = bus.consumer(kafka_bootstrap.split(","), group_id=None)
    try:
        assert check.end_offsets([TopicPartition(topic, 0)]) == {TopicPartition(topic, 0): 0}
    finally:
        check.close()

    strangers = SchemaRegistryClient({"url": registry_url, "basic.auth.user.info": "writer:no"})
    with pytest.raises(SchemaRegistryError) as refused:
        strangers.get_subjects()
    assert refused.value.http_status_code == 401
    anonymous = AvroSerializer(
        SchemaRegistryClient(registry_conf(registry_url, None)), schema_text("ShipmentEvent")
    )
    fresh = f"never-{uuid.uuid4().hex[:8]}"
    with pytest.raises(SchemaRegistryError) as refused:
        anonymous(factories.shipment().to_avro(), SerializationContext(fresh, MessageField.VALUE))
    assert refused.value.http_status_code == 401
