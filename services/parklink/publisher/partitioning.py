"""The partition of a keyed record, as kafka-python's default partitioner picks it, computed by
the SDK so that `send()` does not have to.

Every ParkLink record has a key (the entity id), and the consumers and the detector's
co-partitioned tables rely on the partition of a key being Kafka's usual one: murmur2 of the
key bytes (seed 0x9747b28c, the Java client's `Utils.murmur2`), made positive, modulo the
topic's partition count, over the sorted partition ids. kafka-python computes that murmur2 in
pure Python on every `send()`, byte by byte, together with a sorted copy of the partition set
and a list of the available partitions that a keyed record never uses. Here the hash reads the
key four bytes at a time (`struct`), is remembered for the keys seen lately (an entity's key
comes again with each of its updates) and the sorted partitions are read once per batch handed
over; a unit test holds hash and partition to kafka-python's own on many keys. (The C
`murmurhash2` package would hash faster still, but it has not had a release for years, and the
hash is not where most of the time goes.)

The partitions are read from the producer's metadata once per `publish_many` call instead of
once per record: a metadata refresh that arrives while a batch is handed over is seen from the
next batch on, as if it had arrived a moment later (partitions are only ever added, and
kafka-python itself learns of them only at its next refresh). A producer that was given another
partitioner keeps it: the SDK then leaves the choice to `send()`."""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import partial
from typing import Any

from kafka.partitioner import DefaultPartitioner

SEED = 0x9747B28C
"""The seed of the Java client's murmur2 (and kafka-python's)."""
M = 0x5BD1E995
"""murmur2's multiplier."""
U32 = 0xFFFFFFFF
KNOWN_KEYS = 65_536
"""Keys whose hash is remembered (all forgotten at once when full)."""
_words = struct.Struct("<I").iter_unpack
_known: dict[bytes, int] = {}

PartitionOf = Callable[[bytes], int | None]
"""The partition of a record by its key bytes; None: the producer chooses."""


def murmur2(key: bytes) -> int:
    """The Java client's `Utils.murmur2` of `key` (MurmurHash2, 32 bits, little-endian
    words), as an unsigned number: kafka-python's `murmur2`, a word at a time."""
    length = len(key)
    h = SEED ^ length
    end = length & ~3
    for (k,) in _words(key[:end]):
        k = (k * M) & U32
        k = ((k ^ (k >> 24)) * M) & U32
        h = ((h * M) & U32) ^ k
    tail = length & 3
    if tail:
        if tail == 3:
            h ^= key[end + 2] << 16
        if tail >= 2:
            h ^= key[end + 1] << 8
        h = ((h ^ key[end]) * M) & U32
    h ^= h >> 13
    h = (h * M) & U32
    return h ^ (h >> 15)


def partition_of(key: bytes, partitions: list[int]) -> int:
    """The default partitioner's choice for a keyed record: `partitions` sorted, not empty."""
    positive = _known.get(key)
    if positive is None:
        positive = murmur2(key) & 0x7FFFFFFF
        if len(_known) >= KNOWN_KEYS:
            _known.clear()
        _known[key] = positive
    return partitions[positive % len(partitions)]


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
