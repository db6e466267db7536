"""The gateway's Kafka sink replaces a failed producer without failing the next request."""

from __future__ import annotations

from typing import Any

from kafka.errors import KafkaTimeoutError

from parklink.eventkit.encoding import EventEncoder
from parklink.gateway.sink import KafkaSink


class StuckProducer:
    """A producer left with unacknowledged records: kafka-python's close(timeout=0) raises."""

    def __init__(self) -> None:
        self.config: dict[str, Any] = {"api_version": (3, 9)}
        self.closed = 0

    def close(self, timeout: float | None = None) -> None:
        self.closed += 1
        raise KafkaTimeoutError("Failed to flush buffered records within 0 secs")


def test_a_producer_that_cannot_close_is_replaced_all_the_same() -> None:
    made: list[StuckProducer] = []

    def factory(bootstrap: list[str], **conf: Any) -> Any:
        made.append(StuckProducer())
        return made[-1]

    sink = KafkaSink(["127.0.0.1:1"], None, EventEncoder.__new__(EventEncoder), 5.0, factory)  # type: ignore[arg-type]
    first = sink._live_producer()
    sink._mark_failed(RuntimeError("delivery failed"))
    second = sink._live_producer()
    assert second is not first and first.closed == 1 and len(made) == 2
    assert sink._live_producer() is second  # no failure since: kept
