"""Stand-ins for the registry and the kafka-python producer (no network)."""

from __future__ import annotations

import weakref
from typing import Any

from kafka.errors import KafkaTimeoutError
from kafka.future import Future
from kafka.partitioner import DefaultPartitioner


class FakeRegistry:
    def __init__(self) -> None:
        self.subjects: dict[str, int] = {}
        self.schemas: dict[int, str] = {}

    def register(self, subject: str, schema: str) -> int:
        schema_id = self.subjects.setdefault(subject, len(self.subjects) + 1)
        self.schemas[schema_id] = schema
        return schema_id

    def schema_by_id(self, schema_id: int) -> str:
        return self.schemas[schema_id]


class _Future(Future):  # type: ignore[misc]  # kafka-python has no types
    __slots__ = ("__weakref__",)


class FakeProducer:
    """Acknowledges every record at flush, or fails those whose key is in `fail_keys`; with
    `at_once`, settles each record as it is sent, except those whose key is in `held_keys`
    (settled at flush). Its topics have `partitions` partitions; it partitions as kafka-python
    does by default, or with `partitioner`."""

    def __init__(
        self,
        fail_keys: set[bytes] | None = None,
        partitions: int = 6,
        partitioner: Any = None,
        *,
        at_once: bool = False,
        held_keys: set[bytes] | None = None,
    ) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.partitions: list[int | None] = []
        """The partition the publisher asked for, per record sent (None: the producer's)."""
        self.fail_keys = fail_keys or set()
        self.at_once = at_once
        self.held_keys = held_keys or set()
        self.config = {"partitioner": partitioner or DefaultPartitioner()}
        self._partitions = set(range(partitions))
        self._pending: list[tuple[Future, bytes]] = []
        self.futures: list[weakref.ref[Future]] = []
        """Every record's future, as long as someone keeps it."""
        self.closed = False

    def partitions_for(self, topic: str) -> set[int]:
        return self._partitions

    def send(self, topic: str, key: bytes, value: bytes, partition: int | None = None) -> Future:
        if partition is not None and partition not in self._partitions:
            raise ValueError(f"Unrecognized partition {partition} for topic {topic}")
        self.sent.append((topic, key, value))
        self.partitions.append(partition)
        future = _Future()
        self.futures.append(weakref.ref(future))
        if self.at_once and key not in self.held_keys:
            self._settle(future, key)
        else:
            self._pending.append((future, key))
        return future

    def _settle(self, future: Future, key: bytes) -> None:
        if key in self.fail_keys:
            future.failure(KafkaTimeoutError("expired"))
        else:
            future.success(None)

    def kept(self) -> int:
        """How many of the records' futures are still kept (by anyone)."""
        return sum(1 for ref in self.futures if ref() is not None)

    def flush(self, timeout: float | None = None) -> None:
        for future, key in self._pending:
            self._settle(future, key)
        self._pending.clear()

    def close(self, timeout: float | None = None) -> None:
        self.closed = True

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)
