"""Consumer lag measured from the broker, and exported as a metric, on the real broker."""

import time
from collections.abc import Callable

import pytest
from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry, generate_latest

from parklink.eventkit import bus
from parklink.eventkit.lag import GroupLag, LagMetric, in_topics

pytestmark = pytest.mark.broker


def _produce(servers: list[str], topic: str, per_partition: dict[int, int]) -> None:
    producer = bus.producer(servers)
    try:
        for partition, count in per_partition.items():
            for i in range(count):
                producer.send(topic, value=f"v{i}".encode(), partition=partition)
        producer.flush()
    finally:
        producer.close()


def _commit(servers: list[str], group: str, offsets: dict[TopicPartition, int]) -> None:
    client = bus.consumer(servers, group_id=group)
    try:
        client.assign(list(offsets))
        client.commit({tp: OffsetAndMetadata(o, "", -1) for tp, o in offsets.items()})
    finally:
        client.close()


def test_lag_per_partition_before_and_after_commits(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    servers = kafka_bootstrap.split(",")
    topic = new_topic("lag", partitions=2)
    other = new_topic("lag-other", partitions=1)
    _produce(servers, topic, {0: 5, 1: 3})
    _produce(servers, other, {0: 7})
    group = f"g-{topic}"
    lag = GroupLag(servers, group, in_topics([topic]))
    try:
        # Nothing committed: everything from the log start is lag; other topics not counted.
        assert lag.by_partition() == {TopicPartition(topic, 0): 5, TopicPartition(topic, 1): 3}
        _commit(servers, group, {TopicPartition(topic, 0): 4, TopicPartition(topic, 1): 3})
        assert lag.by_partition() == {TopicPartition(topic, 0): 1, TopicPartition(topic, 1): 0}
        assert lag.total() == 1
    finally:
        lag.close()


def test_lag_metric_exports_group_topic_partition(
    kafka_bootstrap: str, new_topic: Callable[..., str]
) -> None:
    servers = kafka_bootstrap.split(",")
    topic = new_topic("lagm", partitions=1)
    _produce(servers, topic, {0: 6})
    group = f"g-{topic}"
    _commit(servers, group, {TopicPartition(topic, 0): 2})
    registry = CollectorRegistry()
    metric = LagMetric(registry, servers, group, in_topics([topic]), interval_s=0.2)
    metric.start()
    try:
        deadline = time.monotonic() + 60
        while not metric.snapshot() and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        metric.stop()
    text = generate_latest(registry).decode()
    expected = f'parklink_consumer_lag{{group="{group}",partition="0",topic="{topic}"}} 4.0'
    assert expected in text, text
