"""kafka-python clients with ParkLink's defaults: idempotent producers with acks=all, consumers
that commit after processing, an admin client, and a readiness probe."""

from __future__ import annotations

import logging
import time
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError

from parklink.eventkit.errors import ParkLinkError


class KafkaUnavailable(ParkLinkError):
    """Kafka could not be reached or did not acknowledge in time."""


def producer(bootstrap: list[str], **overrides: Any) -> KafkaProducer:
    conf: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "compression_type": None,
        "retries": 2**31 - 1,
        "delivery_timeout_ms": 30_000,
        "request_timeout_ms": 10_000,
        "max_block_ms": 10_000,
        "client_id": "parklink",
    }
    conf.update(overrides)
    try:
        return KafkaProducer(**conf)
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(bootstrap)}: {exc}") from exc


def consumer(bootstrap: list[str], *topics: str, **overrides: Any) -> KafkaConsumer:
    conf: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": "parklink",
    }
    conf.update(overrides)
    try:
        return KafkaConsumer(*topics, **conf)
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(bootstrap)}: {exc}") from exc


def admin(bootstrap: list[str], **overrides: Any) -> KafkaAdminClient:
    conf: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "parklink-admin",
        "request_timeout_ms": 10_000,
    }
    conf.update(overrides)
    try:
        return KafkaAdminClient(**conf)
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(bootstrap)}: {exc}") from exc


def broker_count(bootstrap: list[str], timeout_s: float = 5.0) -> int:
    """How many brokers the cluster reports; raises KafkaUnavailable if it cannot be asked."""
    client = admin(bootstrap, request_timeout_ms=int(timeout_s * 1000))
    try:
        return len(client.describe_cluster()["brokers"])
    except KafkaError as exc:
        raise KafkaUnavailable(f"Kafka at {','.join(bootstrap)} did not answer: {exc}") from exc
    finally:
        client.close()


def wait_for_kafka(bootstrap: list[str], brokers: int = 1, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    # Refused connections are expected while a broker starts; keep them out of the log.
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        while time.monotonic() < deadline:
            try:
                if broker_count(bootstrap) >= brokers:
                    return
            except KafkaUnavailable as exc:
                last = exc
            time.sleep(0.5)
    finally:
        kafka_log.setLevel(level)
    raise KafkaUnavailable(
        f"Kafka at {','.join(bootstrap)} not ready with {brokers} broker(s) "
        f"after {timeout_s:.0f}s: {last}"
    )
