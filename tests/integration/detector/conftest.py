"""Detector workers as subprocesses against the test broker, a publisher of park events and a
reader of the alerts and DLQ topics."""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from conftest import start_service, stop_services
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from parklink.eventkit.bus import consumer, producer
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert, ParkEvent
from parklink.eventkit.lag import GroupLag
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, Serializer

CATALOG = load_catalog()
ROLE = {"OrderEvent": "orders", "ShipmentEvent": "shipments", "CapacityEvent": "capacity"}


@dataclass
class Worker:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Network:
    """One test's topics, registry, detector group and the workers it started."""

    bootstrap: str
    prefix: str
    registry_url: str
    tmp: Path
    group: str = field(default_factory=lambda: f"det-{uuid.uuid4().hex[:8]}")
    env: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)
    _producer: KafkaProducer | None = None
    _reader: KafkaConsumer | None = None
    _lag: GroupLag | None = None
    _serializers: dict[str, Serializer[Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.registry = RegistryClient(self.registry_url)

    def topic(self, role: str) -> str:
        return CATALOG[role].topic(self.prefix)

    def start(self, **env: str) -> Worker:
        port = free_port()
        log = self.tmp / f"detector-{len(self.workers)}.log"
        full = {
            "PARKLINK_KAFKA_BOOTSTRAP": self.bootstrap,
            "PARKLINK_TOPIC_PREFIX": self.prefix,
            "PARKLINK_REGISTRY_URL": self.registry_url,
            "PARKLINK_STATE_DIR": str(self.tmp / "state"),
            "PARKLINK_DETECTOR_GROUP": self.group,
            "PARKLINK_DETECTOR_PORT": str(port),
            "PARKLINK_DETECTOR_PARTITIONS": "4",
            # The scenarios' events carry fixed dates (tests/factories.py, from 2026-11-23):
            # the workers take event times up to the longest horizon the settings allow.
            "PARKLINK_EVENT_TIME_HORIZON_S": str(366 * 86_400),
            "PARKLINK_LOG_LEVEL": "INFO",
            **self.env,
            **env,
        }
        proc = start_service("parklink.detector", full, log, f"http://127.0.0.1:{port}/readyz")
        worker = Worker(proc, port, log)
        self.workers.append(worker)
        return worker

    def kill(self, worker: Worker) -> None:
        worker.proc.send_signal(signal.SIGKILL)
        worker.proc.wait()

    def publish(self, *events: ParkEvent) -> None:
        if self._producer is None:
            self._producer = producer(self.bootstrap.split(","))
        for event in events:
            role = ROLE[event.schema_name]
            ser = self._serializers.get(role)
            if ser is None:
                ser = Serializer(self.registry, type(event), CATALOG[role].subject(self.prefix))
                self._serializers[role] = ser
            self._producer.send(
                self.topic(role), key=event.key().encode(), value=ser.serialize(event)
            )
        self._producer.flush()

    def publish_raw(self, role: str, key: bytes, value: bytes) -> None:
        self.publish_to(self.topic(role), key, value)

    def publish_to(self, topic: str, key: bytes, value: bytes) -> None:
        """Raw bytes onto any topic, e.g. one of the detector's own."""
        if self._producer is None:
            self._producer = producer(self.bootstrap.split(","))
        self._producer.send(topic, key=key, value=value)
        self._producer.flush()

    def read(self, role: str) -> list[Any]:
        """Every record now on the topic (all partitions, from the beginning). One reader
        serves every call (the tests poll this: a new client is a TLS handshake and a SCRAM
        login each time); after an error the next call makes a new one."""
        if self._reader is None:
            self._reader = consumer(
                self.bootstrap.split(","), group_id=None, isolation_level="read_committed"
            )
        reader = self._reader
        try:
            parts = [
                TopicPartition(self.topic(role), p)
                for p in reader.partitions_for_topic(self.topic(role)) or ()
            ]
            reader.assign(parts)
            reader.seek_to_beginning(*parts)
            ends = reader.end_offsets(parts)
            records: list[Any] = []
            while any(reader.position(tp) < ends[tp] for tp in parts):
                for batch in reader.poll(timeout_ms=500).values():
                    records.extend(batch)
            return sorted(records, key=lambda r: (r.timestamp, r.partition, r.offset))
        except BaseException:
            self._reader = None
            reader.close()
            raise

    def alerts(self) -> list[DisruptionAlert]:
        des = Deserializer(self.registry, DisruptionAlert)
        return [des.deserialize(r.value) for r in self.read("alerts")]

    def reads(self, topic: str) -> bool:
        """Whether the detector group reads `topic`: a park topic or one of its own stage
        topics (`<prefix><group>-*-batches`), not a changelog."""
        own = f"{self.prefix}{self.group}-"
        return topic in {self.topic(r) for r in ROLE.values()} or (
            topic.startswith(own) and topic.endswith("-batches")
        )

    def caught_up(self) -> bool:
        """Whether the group has committed every record of every topic it reads. A worker
        commits a record only once what it concluded from it is out (at least once), so from
        then on no record is left that could still give an alert."""
        if self._lag is None:
            self._lag = GroupLag(self.bootstrap.split(","), self.group, self.reads)
        return self._lag.total() == 0

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            for w in self.workers:
                if w.proc.poll() is not None and w.proc.returncode not in (0, -9):
                    raise AssertionError(f"worker died:\n{w.log.read_text()[-3000:]}")
            time.sleep(0.3)
        logs = "\n".join(w.log.read_text()[-2000:] for w in self.workers)
        raise AssertionError(f"timed out waiting for {what}\n{logs}")

    def close(self) -> None:
        stop_services(w.proc for w in self.workers)
        if self._producer is not None:
            self._producer.close()
        if self._reader is not None:
            self._reader.close()
        if self._lag is not None:
            self._lag.close()
        self.registry.close()


@pytest.fixture
def network(
    kafka_bootstrap: str, topic_prefix: str, registry_url: str, tmp_path: Path
) -> Iterator[Network]:
    net = Network(kafka_bootstrap, topic_prefix, registry_url, tmp_path)
    try:
        yield net
    finally:
        net.close()
