"""Consumer lag as the broker sees it: per topic partition, the log-end offset minus the
group's committed offset (the log-start offset where the group has committed nothing yet).

It is measured from the broker, not from inside a client, so the detector (faust/aiokafka),
the console and the benchmarks all report the same figure the same way, and a worker that is
stuck or dead still shows its growing lag. `LagMetric` refreshes it in a daemon thread and
exports it as `parklink_consumer_lag{group,topic,partition}`; a scrape never waits on Kafka."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from parklink.eventkit import bus, metrics

log = logging.getLogger(__name__)
_ATTEMPTS = 6


Positions = Callable[[], dict[TopicPartition, int]]


class GroupLag:
    """The lag of consumer group `group` over the topics `wanted(name)` selects (the topics
    it reads: its sources and, for a stream processor, its own repartition topics).

    `positions`, when given, replaces the group's committed offsets: a consumer that keeps
    its position elsewhere (the console keeps it in its database, in one transaction with
    what it stored) reports the next offset it will read per partition."""

    def __init__(
        self,
        bootstrap: list[str],
        group: str,
        wanted: Callable[[str], bool],
        security: bus.ClientSecurity | None = None,
        positions: Positions | None = None,
    ) -> None:
        self.group = group
        self.wanted = wanted
        self._positions = positions
        self._admin: KafkaAdminClient = bus.admin(bootstrap, security=security)
        self._reader: KafkaConsumer = bus.consumer(bootstrap, group_id=None, security=security)

    def partitions(self) -> list[TopicPartition]:
        topics = sorted(t for t in self._reader.topics() if self.wanted(t))
        return [
            TopicPartition(t, p)
            for t in topics
            for p in sorted(self._reader.partitions_for_topic(t) or ())
        ]

    def by_partition(self) -> dict[TopicPartition, int]:
        """Lag of every partition of the wanted topics (0 when the group is at the end)."""
        parts = self.partitions()
        if not parts:
            return {}
        ends = self._reader.end_offsets(parts)
        done = self._committed()
        missing = [tp for tp in parts if tp not in done or done[tp].offset < 0]
        starts = self._reader.beginning_offsets(missing) if missing else {}
        lag = {}
        for tp in parts:
            committed = done[tp].offset if tp in done and done[tp].offset >= 0 else starts[tp]
            lag[tp] = max(ends[tp] - committed, 0)
        return lag

    def _committed(self) -> dict[TopicPartition, Any]:
        if self._positions is not None:
            return {tp: OffsetAndMetadata(o, "", -1) for tp, o in self._positions().items()}
        # A group's coordinator is briefly unavailable on a fresh cluster (while
        # __consumer_offsets is created) or during a leader move: retriable, so retried.
        for attempt in range(_ATTEMPTS):
            try:
                found: dict[str, dict[TopicPartition, Any]]
                found = self._admin.list_group_offsets(self.group)
                return found.get(self.group, {})
            except KafkaError as exc:
                if not exc.retriable or attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    def total(self) -> int:
        return sum(self.by_partition().values())

    def close(self) -> None:
        self._reader.close()
        self._admin.close()


class _LagCollector(Collector):
    def __init__(self, source: LagMetric) -> None:
        self.source = source

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            metrics.name(metrics.CONSUMER_LAG),
            "Records not yet committed by the consumer group, per topic partition (log-end "
            "offset minus committed offset, as the broker reports them).",
            labels=("group", "topic", "partition"),
        )
        for tp, lag in sorted(self.source.snapshot().items()):
            family.add_metric((self.source.group, tp.topic, str(tp.partition)), lag)
        yield family


class LagMetric:
    """Export one group's lag on `registry`, refreshed every `interval_s` in a daemon thread
    (`start`/`stop`). While Kafka does not answer, the last figures stay and the failure is
    logged once per outage."""

    def __init__(
        self,
        registry: CollectorRegistry,
        bootstrap: list[str],
        group: str,
        wanted: Callable[[str], bool],
        interval_s: float = 10.0,
        security: bus.ClientSecurity | None = None,
        positions: Positions | None = None,
    ) -> None:
        self.group = group
        self._args: tuple[Any, ...] = (bootstrap, group, wanted, security, positions)
        self.interval_s = interval_s
        self._lag: dict[TopicPartition, int] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        registry.register(_LagCollector(self))

    def snapshot(self) -> dict[TopicPartition, int]:
        with self._lock:
            return dict(self._lag)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"lag-{self.group}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 15)

    def _run(self) -> None:
        lag: GroupLag | None = None
        failing = False
        while not self._stopped.is_set():
            try:
                if lag is None:
                    lag = GroupLag(*self._args)
                figures = lag.by_partition()
            except Exception as exc:  # a measurement never stops the service
                if not failing:
                    log.warning("consumer lag of group %s not measured: %s", self.group, exc)
                failing = True
                if lag is not None:
                    _close_quietly(lag)
                    lag = None
            else:
                if failing:
                    log.info("consumer lag of group %s measured again", self.group)
                failing = False
                with self._lock:
                    self._lag = figures
            self._stopped.wait(self.interval_s)
        if lag is not None:
            _close_quietly(lag)


def _close_quietly(lag: GroupLag) -> None:
    try:
        lag.close()
    except (KafkaError, OSError) as exc:  # closing a client whose broker is gone
        log.debug("closing the lag clients of group %s: %s", lag.group, exc)


def in_topics(topics: Iterable[str]) -> Callable[[str], bool]:
    """`wanted` for a fixed set of topic names."""
    names = frozenset(topics)
    return names.__contains__
