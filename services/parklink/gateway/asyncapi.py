"""The AsyncAPI 3 document of the alliance topics, generated from the topic catalog and the
`.avsc` files (never written by hand): one channel per topic with its Kafka bindings, one
message per record with its Avro schema, its key and the Confluent framing; integrators
receive from every channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parklink.eventkit.catalog import Catalog, TopicSpec, load_catalog
from parklink.eventkit.schemas import schema_dict

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
AVRO_FORMAT = "application/vnd.apache.avro+json;version=1.9.0"
DLQ_MESSAGE = "DeadLetter"


def _channel(spec: TopicSpec, prefix: str) -> dict[str, Any]:
    message = spec.value or DLQ_MESSAGE
    topic_config: dict[str, Any] = {"cleanup.policy": spec.cleanup_policy.split(",")}
    if spec.retention_ms is not None:
        topic_config["retention.ms"] = spec.retention_ms
    return {
        "address": spec.topic(prefix),
        "title": spec.role,
        "description": f"Kafka topic {spec.topic(prefix)}; key: {spec.key}.",
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {
            "kafka": {
                "topic": spec.topic(prefix),
                "partitions": spec.partitions,
                "replicas": spec.replication_factor,
                "topicConfiguration": topic_config,
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _key_binding(spec: TopicSpec) -> dict[str, Any]:
    return {
        "key": {
            "type": "string",
            "description": f"UTF-8 string: {spec.key} (parts joined with '|', dates YYYY-MM-DD)",
        },
        "bindingVersion": KAFKA_BINDING_VERSION,
    }


def _record_message(spec: TopicSpec, record: str) -> dict[str, Any]:
    schema = schema_dict(record)
    binding = _key_binding(spec)
    binding.update({"schemaIdLocation": "payload", "schemaIdPayloadEncoding": "confluent"})
    return {
        "name": record,
        "title": record,
        "summary": schema.get("doc", record),
        "contentType": "application/vnd.apache.avro+binary",
        "description": "Confluent wire format: byte 0x00, 4-byte big-endian schema id "
        f"(subject {spec.name}-value under the topic prefix), then the Avro binary body.",
        "payload": {"schemaFormat": AVRO_FORMAT, "schema": schema},
        "bindings": {"kafka": binding},
    }


def _dlq_message(spec: TopicSpec) -> dict[str, Any]:
    return {
        "name": DLQ_MESSAGE,
        "title": "Dead letter",
        "summary": "A record the detector could not decode or that broke the contract.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "description": "Where the record came from and why it was set aside.",
            "properties": {
                name: {"type": "string"} for name in ("topic", "partition", "offset", "error")
            },
        },
        "payload": {"type": "string", "format": "binary", "description": "The original bytes."},
        "bindings": {"kafka": _key_binding(spec)},
    }


def asyncapi_document(
    topic_prefix: str, bootstrap: Sequence[str], catalog: Catalog | None = None
) -> dict[str, Any]:
    catalog = catalog or load_catalog()
    specs = list(catalog.topics.values())
    messages = {
        (spec.value or DLQ_MESSAGE): (
            _record_message(spec, spec.value) if spec.value else _dlq_message(spec)
        )
        for spec in specs
    }
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "ParkLink alliance event network",
            "version": "1",
            "description": "Order, shipment and capacity events of the member parks and the "
            "disruption alerts raised from them. Values are Avro in the Confluent wire "
            "format; decode them with any Confluent-compatible schema registry client.",
        },
        "defaultContentType": "application/vnd.apache.avro+binary",
        "servers": {
            f"kafka{i}": {
                "host": server,
                "protocol": "kafka",
                "description": "Kafka bootstrap server",
            }
            for i, server in enumerate(bootstrap)
        },
        "channels": {spec.role: _channel(spec, topic_prefix) for spec in specs},
        "operations": {
            f"receive_{spec.role}": {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{spec.role}"},
                "summary": f"Subscribe to {spec.topic(topic_prefix)}",
                "messages": [
                    {"$ref": f"#/channels/{spec.role}/messages/{spec.value or DLQ_MESSAGE}"}
                ],
            }
            for spec in specs
        },
        "components": {"messages": messages},
    }
