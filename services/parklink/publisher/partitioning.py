"""The partition of a keyed record, as kafka-python's default partitioner picks it, computed by
the SDK so that `send()` does not have to.

Every ParkLink record has a key (the entity id), and the consumers and the detector's
co-partitioned tables rely on the partition of a key being Kafka's usual one: murmur2 of the
key bytes (seed 0x9747b28c, the Java client's `Utils.murmur2`), made positive, modulo the
topic's partition count, over the sorted partition ids. kafka-python computes that murmur2 in
pure Python on every `send()`, together with a sorted copy of the partition set and a list of
the available partitions that a keyed record never uses; here the hash is the `murmurhash2`
extension's (the same 32-bit MurmurHash2, a unit test holds it to kafka-python's own on many
keys) and the sorted partitions are read once per batch handed over.

The partitions are read from the producer's metadata once per `publish_many` call instead of
once per record: a metadata refresh that arrives while a batch is handed over is seen from the
next batch on, as if it had arrived a moment later (partitions are only ever added, and
kafka-python itself learns of them only at its next refresh). A producer that was given another
partitioner keeps it: the SDK then leaves the choice to `send()`."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kafka.partitioner import DefaultPartitioner
from murmurhash2 import murmurhash2

SEED = 0x9747B28C
"""The seed of the Java client's murmur2 (and kafka-python's)."""

PartitionOf = Callable[[bytes], int | None]
"""The partition of a record by its key bytes; None: the producer chooses."""


def murmur2(key: bytes) -> int:
    """The Java client's `Utils.murmur2` of `key`, as an unsigned 32-bit number."""
    return murmurhash2(key, SEED)


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The default partitioner's choice for a keyed record: `partitions` sorted, not empty."""
    return partitions[(murmurhash2(key, SEED) & 0x7FFFFFFF) % len(partitions)]


def _producer_chooses(key: bytes) -> None:
    return None


def uses_default_partitioner(producer: Any) -> bool:
    """Whether `producer` partitions keyed records with kafka-python's default partitioner
    (exactly that class: a subclass may choose otherwise)."""
    config = getattr(producer, "config", None)
    return isinstance(config, dict) and type(config.get("partitioner")) is DefaultPartitioner


def partitioner_for(producer: Any, topic: str) -> PartitionOf:
    """How to partition the next records to `topic`: the default partitioner's choice over the
    topic's partitions as the producer knows them now (waiting for the topic's metadata like
    `send()` would, KafkaError if it does not come), or the producer's own choice if it was
    given another partitioner."""
    if not uses_default_partitioner(producer):
        return _producer_chooses
    partitions = sorted(producer.partitions_for(topic))
    if not partitions:
        return _producer_chooses
    return partial(partition_of, partitions=partitions)
