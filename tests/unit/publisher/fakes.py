"""Stand-ins for the registry and the kafka-python producer (no network)."""

from __future__ import annotations

from typing import Any

from kafka.errors import KafkaTimeoutError
from kafka.future import Future


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


class FakeProducer:
    """Acknowledges every record at flush, or fails those whose key is in `fail_keys`."""

    def __init__(self, fail_keys: set[bytes] | None = None) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.fail_keys = fail_keys or set()
        self._pending: list[tuple[Future, bytes]] = []
        self.closed = False

    def send(self, topic: str, key: bytes, value: bytes) -> Future:
        self.sent.append((topic, key, value))
        future = Future()
        self._pending.append((future, key))
        return future

    def flush(self, timeout: float | None = None) -> None:
        for future, key in self._pending:
            if key in self.fail_keys:
                future.failure(KafkaTimeoutError("expired"))
            else:
                future.success(None)
        self._pending.clear()

    def close(self, timeout: float | None = None) -> None:
        self.closed = True

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(name)
