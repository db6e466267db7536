"""Kafka plumbing: a thread that reads the compacted alerts topic from the offsets stored in
the database (from the beginning when the database is new), decodes each record and hands
batches to the store. No consumer group: the console keeps its own offsets, in the same
transaction as the alerts they produced.

An alert the database refuses (a NUL in a string on PostgreSQL, a value beyond a column's or
an index's limit) is logged, counted as `unstorable` and skipped, so the alerts after it still
reach operators; a database that cannot answer makes the consumer read the batch again."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kafka import TopicPartition
from kafka.errors import KafkaError
from prometheus_client import Counter

from parklink.console.storage import AlertStore, Applied, Incoming
from parklink.console.storage.faults import describe, refuses_data
from parklink.eventkit.bus import KafkaUnavailable, consumer
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.registry_client import RegistryError
from parklink.eventkit.serde import Deserializer, SchemaSource, SerdeError

log = logging.getLogger(__name__)

PARTITION_CHECK_S = 30.0


def registry_unreachable(exc: BaseException) -> bool:
    """Whether a decoding failure came from a registry that could not answer (worth
    retrying) rather than from the record itself."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, RegistryError):
            return cause.status is None or cause.status >= 500
        cause = cause.__cause__
    return False


class AlertConsumer:
    def __init__(
        self,
        *,
        bootstrap: list[str],
        topic: str,
        store: AlertStore,
        registry: SchemaSource,
        consumed: Counter,
        on_applied: Callable[[list[Applied]], None],
    ) -> None:
        self.topic = topic
        self._bootstrap = bootstrap
        self._store = store
        self._deserializer = Deserializer(registry, DisruptionAlert)
        self._consumed = consumed
        self._on_applied = on_applied
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alerts-consumer", daemon=True)
        self.problem: str | None = "starting"

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                client = consumer(self._bootstrap, group_id=None, client_id="parklink-console")
            except KafkaUnavailable as exc:
                self.problem = str(exc)
                self._stop.wait(2.0)
                continue
            try:
                self._consume(client)
            except (KafkaError, KafkaUnavailable) as exc:
                self.problem = f"Kafka: {exc}"
                log.warning("alerts consumer: %s; reconnecting", exc)
                self._stop.wait(2.0)
            except Exception as exc:
                self.problem = f"consumer crashed: {exc}"
                log.exception("alerts consumer failed; restarting it")
                self._stop.wait(2.0)
            finally:
                client.close()

    def _assign(self, client: Any) -> set[int]:
        while not self._stop.is_set():
            partitions = client.partitions_for_topic(self.topic)
            if partitions:
                break
            self.problem = f"topic {self.topic} does not exist (yet)"
            self._stop.wait(2.0)
        else:
            return set()
        tps = [TopicPartition(self.topic, p) for p in sorted(partitions)]
        client.assign(tps)
        stored = self._store.next_offsets(self.topic)
        for tp in tps:
            if tp.partition in stored:
                client.seek(tp, stored[tp.partition])
            else:
                client.seek_to_beginning(tp)
        log.info(
            "alerts consumer: reading %s (%d partitions, %s)",
            self.topic,
            len(tps),
            "resuming" if stored else "from the beginning",
        )
        return set(partitions)

    def _consume(self, client: Any) -> None:
        partitions = self._assign(client)
        checked = time.monotonic()
        self.problem = None
        while not self._stop.is_set():
            batches = client.poll(timeout_ms=500, max_records=500)
            for tp, messages in batches.items():
                self._handle(client, tp, messages)
            if time.monotonic() - checked > PARTITION_CHECK_S:
                checked = time.monotonic()
                now_partitions = client.partitions_for_topic(self.topic) or set()
                if now_partitions != partitions:
                    log.info("alerts consumer: partitions changed, reassigning")
                    return

    def _handle(self, client: Any, tp: TopicPartition, messages: list[Any]) -> None:
        records: list[Incoming] = []
        skipped: dict[int, int] = {}
        for msg in messages:
            if msg.value is None:
                self._consumed.labels(outcome="tombstone").inc()
                skipped[tp.partition] = msg.offset + 1
                continue
            try:
                alert = self._deserializer.deserialize(
                    msg.value, topic=tp.topic, partition=tp.partition, offset=msg.offset
                )
            except SerdeError as exc:
                if registry_unreachable(exc):
                    # Keep what decoded so far; read this record again once the registry is back.
                    self.problem = f"schema registry: {exc}"
                    self._commit(tp, records, skipped)
                    client.seek(tp, msg.offset)
                    self._stop.wait(1.0)
                    return
                log.error("alerts consumer: skipping an undecodable record: %s", exc)
                self._consumed.labels(outcome="undecodable").inc()
                skipped[tp.partition] = msg.offset + 1
                continue
            records.append(Incoming(alert, tp.partition, msg.offset))
        self._commit(tp, records, skipped)
        self.problem = None

    def _commit(self, tp: TopicPartition, records: list[Incoming], skipped: dict[int, int]) -> None:
        if records:
            applied = store_records(self._store, self.topic, records, self._consumed)
            for a in applied:
                self._consumed.labels(outcome="new" if a.new_transition else "replayed").inc()
            last = records[-1].offset + 1
            if skipped.get(tp.partition, 0) > last:
                self._store.advance(self.topic, skipped)
            self._on_applied(applied)
        elif skipped:
            self._store.advance(self.topic, skipped)
        records.clear()
        skipped.clear()


def store_records(
    store: AlertStore, topic: str, records: list[Incoming], consumed: Counter
) -> list[Applied]:
    """Store a batch in one transaction. When the database refuses the batch for what it
    holds, store the records one at a time and skip each one it refuses (logged, counted,
    its offset passed). Any other failure of the database is raised: nothing was stored and
    the caller reads the records again."""
    try:
        return store.apply(topic, records, datetime.now(UTC))
    except Exception as exc:
        if not refuses_data(exc):
            raise
        log.warning(
            "alerts consumer: the database refused a batch of %d (%s); storing one by one",
            len(records),
            describe(exc),
        )
    applied: list[Applied] = []
    for rec in records:
        try:
            applied += store.apply(topic, [rec], datetime.now(UTC))
        except Exception as exc:
            if not refuses_data(exc):
                raise
            log.error(
                "alerts consumer: skipping alert %r (partition %d, offset %d) that the "
                "database refuses: %s",
                rec.alert.alert_id[:120],
                rec.partition,
                rec.offset,
                describe(exc),
            )
            consumed.labels(outcome="unstorable").inc()
            store.advance(topic, {rec.partition: rec.offset + 1})
    return applied
