"""The registry's storage: the compacted `_schemas` topic (one partition, so one order for
every instance). On start the topic is replayed from the beginning into the state; every write
is produced with acks=all and only counts once this instance has read it back and applied it,
so all instances apply the same records in the same order.

Stopping is bounded whether Kafka answers or not (see `RegistrySettings.shutdown_bound_s`):
once `close()` begins, a write still waiting for the store is refused (503) instead of
queueing behind one that Kafka keeps waiting, and the one in progress gives up its
read-back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from parklink.eventkit import bus
from parklink.registry import errors
from parklink.registry.errors import ApiError
from parklink.registry.state import Record, RegistryState

log = logging.getLogger(__name__)

SEND_BLOCK_S = 10.0
"""The longest a send waits for Kafka's metadata (the producer's max_block_ms)."""
READER_JOIN_S = 10.0
PRODUCER_CLOSE_S = 5.0
STORE_CLOSE_S = READER_JOIN_S + 2 * PRODUCER_CLOSE_S
"""The longest `KafkaStore.close` takes: the reader's end, the producer's flush and close."""


class KafkaStore:
    def __init__(
        self,
        state: RegistryState,
        bootstrap: list[str],
        topic: str,
        replication_factor: int = 3,
        write_timeout_s: float = 15.0,
        max_record_bytes: int = 1024 * 1024,
    ) -> None:
        self.state = state
        self.bootstrap = bootstrap
        self.topic = topic
        self.replication_factor = replication_factor
        self.write_timeout_s = write_timeout_s
        self.max_record_bytes = max_record_bytes
        self.ready = threading.Event()
        self.problem = "replaying the store topic"
        self._stop = threading.Event()
        self._position = 0  # next offset to read
        self._read = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="registry-store", daemon=True)
        self._producer: KafkaProducer | None = None
        self._write_lock = threading.Lock()

    # ---- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting and replaying in the background; `ready` is set once the topic
        has been read up to the end it had when the replay began."""
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        with self._read:
            self._read.notify_all()  # a write waiting for its read-back gives up
        if self._thread.is_alive():
            self._thread.join(timeout=READER_JOIN_S)
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                producer.flush(timeout=PRODUCER_CLOSE_S)
            except KafkaError as exc:  # Kafka gone: those writes were already answered 500
                log.warning("schema store: records left unsent at shutdown: %s", exc)
            try:
                producer.close(timeout=PRODUCER_CLOSE_S)
            except KafkaError as exc:
                log.warning("schema store: producer not closed cleanly: %s", exc)
        log.info("schema store closed")

    def _refuse_if_stopping(self) -> None:
        if self._stop.is_set():
            raise ApiError(503, errors.BACKEND_ERROR, "the schema registry is stopping")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._ensure_topic()
                if self._producer is None:
                    self._producer = bus.producer(
                        self.bootstrap,
                        linger_ms=0,
                        max_block_ms=int(SEND_BLOCK_S * 1000),
                        client_id="parklink-registry",
                        max_request_size=self.max_record_bytes,
                    )
                self._consume()
                return
            except KafkaError as exc:
                self.problem = f"Kafka at {','.join(self.bootstrap)}: {exc}"
            except bus.KafkaUnavailable as exc:
                self.problem = str(exc)
            except Exception as exc:  # keep serving /healthz and retry rather than die silently
                log.exception("schema store reader failed")
                self.problem = f"store reader failed: {exc}"
            log.warning("schema store not available: %s", self.problem)
            self._stop.wait(2.0)

    def _ensure_topic(self) -> None:
        admin = bus.admin(self.bootstrap)
        try:
            if self.topic in admin.list_topics():
                return
            brokers = bus.live_brokers(admin)
            spec = NewTopic(
                self.topic,
                num_partitions=1,
                replication_factor=min(self.replication_factor, max(brokers, 1)),
                topic_configs={
                    "cleanup.policy": "compact",
                    "max.message.bytes": str(self.max_record_bytes),
                },
            )
            try:
                admin.create_topics([spec])
                log.info("created the schema store topic %s", self.topic)
            except TopicAlreadyExistsError:
                pass
        finally:
            admin.close()

    def _consume(self) -> None:
        consumer = bus.consumer(
            self.bootstrap,
            group_id=None,
            client_id="parklink-registry",
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=max(self.max_record_bytes, 1024 * 1024),
        )
        tp = TopicPartition(self.topic, 0)
        try:
            consumer.assign([tp])
            # After a reconnect, go on from where this state is; records apply exactly once.
            if self._position:
                consumer.seek(tp, self._position)
            else:
                consumer.seek_to_beginning(tp)
            end = self._end_offset(consumer, tp)
            log.info("reading %s from offset %d (end %d)", self.topic, self._position, end)
            while not self._stop.is_set():
                if not self.ready.is_set() and self._position >= end:
                    self.ready.set()
                    log.info("schema store replayed up to offset %d", self._position)
                batches = consumer.poll(timeout_ms=200)
                for records in batches.values():
                    for rec in records:
                        try:
                            applied = self.state.apply(rec.key, rec.value)
                        except Exception:  # a poisoned record must not stop the replay
                            log.exception(
                                "record at offset %d of %s failed", rec.offset, self.topic
                            )
                            applied = False
                        if not applied:
                            log.warning("ignored record at offset %d of %s", rec.offset, self.topic)
                        with self._read:
                            self._position = rec.offset + 1
                            self._read.notify_all()
                if not batches:
                    # Compaction leaves gaps: the position can be beyond the last record read.
                    position = consumer.position(tp)
                    if position is not None and position > self._position:
                        with self._read:
                            self._position = position
                            self._read.notify_all()
        finally:
            consumer.close()

    def _end_offset(self, consumer: KafkaConsumer, tp: TopicPartition) -> int:
        deadline = time.monotonic() + 30
        while True:
            try:
                return int(consumer.end_offsets([tp])[tp])
            except KafkaError:
                if time.monotonic() > deadline:
                    raise
                self._stop.wait(0.5)

    # ---- writing ------------------------------------------------------------------------

    def write(self, records: Sequence[Record]) -> None:
        """Produce `records` and wait until this instance has read them back: at most
        SEND_BLOCK_S plus the write timeout once this write has the store."""
        self._refuse_if_stopping()
        producer = self._producer
        if producer is None or not self.ready.is_set():
            raise ApiError(503, errors.BACKEND_ERROR, f"schema store not ready: {self.problem}")
        last = -1
        try:
            with self._write_lock:
                self._refuse_if_stopping()  # waited behind a write while the registry stops
                futures = [
                    producer.send(self.topic, key=k, value=v, partition=0) for k, v in records
                ]
                deadline = time.monotonic() + self.write_timeout_s
                producer.flush(timeout=max(deadline - time.monotonic(), 0.0))
            for future in futures:
                left = max(deadline - time.monotonic(), 0.0)
                last = max(last, future.get(timeout=left).offset)
        except KafkaError as exc:
            raise ApiError(
                500, errors.BACKEND_ERROR, f"Error in the backend data store (Kafka): {exc}"
            ) from exc
        with self._read:
            while self._position <= last:
                self._refuse_if_stopping()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ApiError(
                        500,
                        errors.BACKEND_TIMEOUT,
                        f"write to {self.topic} at offset {last} not read back in time",
                    )
                self._read.wait(left)
