"""The SDK's partitions against kafka-python's default partitioner: the same murmur2, the same
partition for the same key (the consumers and the detector's co-partitioned tables rely on
it), and the producer's own choice kept when it was given another partitioner."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta

import factories
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kafka.partitioner import DefaultPartitioner
from kafka.partitioner.default import murmur2 as kafka_murmur2
from unit.publisher.fakes import FakeProducer, FakeRegistry

from parklink.publisher import Publisher, partitioning
from parklink.publisher.partitioning import murmur2, partition_of, partitioner_for

NOW = factories.T0 + timedelta(hours=1)


class Cluster:
    """What kafka-python's DefaultPartitioner reads of the cluster metadata: one topic."""

    def __init__(self, topic: str, partitions: set[int]) -> None:
        self._topic, self._partitions = topic, partitions

    def topics(self) -> set[str]:
        return {self._topic}

    def partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions

    def available_partitions_for_topic(self, topic: str) -> set[int]:
        return self._partitions


def _keys() -> list[bytes]:
    """Keys like ParkLink's (entity ids, capacity keys, uuids, non-ASCII) and random bytes of
    every length up to 80, so that each tail length of murmur2 is tried many times."""
    rng = random.Random(14)
    keys = [f"PO-{i}".encode() for i in range(3000)]
    keys += [f"SH-{i:06d}".encode() for i in range(3000)]
    keys += [f"CN-QD-SCODA|{8700 + i % 9}|2026-12-{1 + i % 28:02d}".encode() for i in range(500)]
    keys += [str(uuid.UUID(int=rng.getrandbits(128))).encode() for _ in range(1000)]
    keys += ["货运-ПО-é".encode() * n for n in range(1, 20)]
    keys += [rng.randbytes(rng.randrange(81)) for _ in range(5000)]
    return [b"", *keys]


def test_murmur2_is_kafka_pythons_on_many_keys() -> None:
    keys = _keys()
    assert len({kafka_murmur2(k) for k in keys}) > 0.99 * len(set(keys))  # not a constant
    assert [murmur2(k) for k in keys] == [kafka_murmur2(k) for k in keys]


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_murmur2_is_kafka_pythons_on_any_bytes(key: bytes) -> None:
    assert murmur2(key) == kafka_murmur2(key)


def test_the_partition_of_a_key_is_the_default_partitioners() -> None:
    default = DefaultPartitioner()
    keys = _keys()
    # Partition ids are sorted first: the set order must not matter.
    for partitions in ({0}, set(range(3)), set(range(6)), set(range(12)), set(range(50))):
        cluster = Cluster("t", partitions)
        expected = [default.partition("t", k, k, None, None, cluster) for k in keys]
        assert [partition_of(k, sorted(partitions)) for k in keys] == expected
        chosen = partitioner_for(FakeProducer(partitions=len(partitions)), "t")
        assert [chosen(k) for k in keys] == expected
        if len(partitions) > 1:
            assert len(set(expected)) == len(partitions)


def _publisher(producer: FakeProducer) -> Publisher:
    return Publisher(
        "127.0.0.1:1",
        FakeRegistry(),
        "KZ-ALA-IPA",
        "x.",
        clock=lambda: NOW,
        kafka_producer=producer,
    )


def test_the_publisher_asks_for_the_default_partitioners_partition() -> None:
    producer = FakeProducer(partitions=6)
    pub = _publisher(producer)
    docs = [
        {**factories.ORDER, "event_id": str(uuid.uuid4()), "order_id": f"PO-{i}"}
        for i in range(300)
    ]
    pub.publish_many(docs, kind="orders")  # the plain lane
    pub.publish_many([factories.order(order_id=f"PO-{i}") for i in range(300, 400)])  # models
    assert pub.flush() == 400
    default, cluster = DefaultPartitioner(), Cluster("x.orders.v1", set(range(6)))
    assert producer.partitions == [
        default.partition(t, k, k, None, None, cluster) for t, k, _ in producer.sent
    ]
    assert {t for t, _, _ in producer.sent} == {"x.orders.v1"}


class EverythingToZero:
    def partition(self, *args: object, **kwargs: object) -> int:
        return 0


def test_a_producer_with_another_partitioner_keeps_its_choice() -> None:
    producer = FakeProducer(partitioner=EverythingToZero())
    pub = _publisher(producer)
    pub.publish({**factories.ORDER, "order_id": "PO-1"}, kind="orders")
    pub.publish(factories.order(order_id="PO-2"))
    assert pub.flush() == 2
    assert producer.partitions == [None, None]


def test_remembered_hashes_give_the_same_partitions_when_the_memory_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(partitioning, "KNOWN_KEYS", 100)
    monkeypatch.setattr(partitioning, "_known", {})
    default, cluster = DefaultPartitioner(), Cluster("t", set(range(7)))
    keys = _keys()[:1000] * 2  # the second round is partly remembered
    assert [partition_of(k, list(range(7))) for k in keys] == [
        default.partition("t", k, k, None, None, cluster) for k in keys
    ]
    assert len(partitioning._known) <= 100
