"""kafka-python through ParkLink's client defaults, on the real broker."""

from collections.abc import Callable

import pytest

from parklink.eventkit import bus

pytestmark = pytest.mark.broker


def test_produce_acks_all_and_consume_back(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    topic = new_topic("bus", partitions=3)
    servers = kafka_bootstrap.split(",")
    producer = bus.producer(servers)
    try:
        futures = [
            producer.send(topic, key=f"k{i % 10}".encode(), value=f"v{i}".encode())
            for i in range(1000)
        ]
        producer.flush()
        metas = [f.get(timeout=10) for f in futures]
    finally:
        producer.close()
    assert {m.partition for m in metas} <= {0, 1, 2}
    consumer = bus.consumer(servers, topic, group_id=f"g-{topic}", consumer_timeout_ms=5000)
    try:
        seen = {m.value.decode() for m in consumer}
    finally:
        consumer.close()
    assert seen == {f"v{i}" for i in range(1000)}
