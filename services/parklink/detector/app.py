"""Wires the detector: the faust app, its topics and tables, the agents, the web endpoints and
the metrics. See `stages.py` for the flow between the stages."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from parklink.detector import agents
from parklink.detector.codec import DataclassCodec, SerdeCodec, Utf8Codec
from parklink.detector.config import DetectorSettings
from parklink.detector.rules import weeks
from parklink.detector.stages import Stages
from parklink.detector.state import (
    AlertState,
    CorridorState,
    CorridorUpdates,
    OrderEntity,
    OrderView,
    ParkActivity,
    ParkMessage,
    ShipmentEntity,
    Week,
    WeekHead,
    WeekUpdates,
)
from parklink.detector.thresholds import Thresholds
from parklink.eventkit import metrics as m
from parklink.eventkit.bus import admin
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS, DisruptionAlert
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, SerdeError, Serializer

log = logging.getLogger(__name__)

SOURCES = ("orders", "shipments", "capacity")


@dataclass
class DetectorMetrics:
    events_in: Counter
    alerts_out: Counter
    dlq: Counter
    process_seconds: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry) -> DetectorMetrics:
        return cls(
            events_in=m.counter(
                registry, m.DETECTOR_EVENTS_IN, "Park records read, by topic.", ("topic",)
            ),
            alerts_out=m.counter(
                registry,
                m.DETECTOR_ALERTS_OUT,
                "Alert transitions emitted, by type, severity and status.",
                ("type", "severity", "status"),
            ),
            dlq=m.counter(
                registry,
                m.DETECTOR_DLQ,
                "Records sent to the dead-letter topic, by source topic and reason.",
                ("topic", "reason"),
            ),
            process_seconds=m.histogram(
                registry,
                m.DETECTOR_PROCESS_SECONDS,
                "Time to process one park record, by topic.",
                ("stage",),
                buckets=(0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1),
            ),
        )


def partition_counts(settings: DetectorSettings, topics: list[str]) -> dict[str, int]:
    """Partition count of each topic; the park topics come from `parklink topics apply` and
    the detector does not create them."""
    client = admin(settings.bootstrap_servers)
    try:
        found = {
            t["name"]: len(t["partitions"])
            for t in client.describe_topics()
            if not t.get("error_code") and t["name"] in topics
        }
    finally:
        client.close()
    missing = [t for t in topics if not found.get(t)]
    if missing:
        raise ParkLinkError(
            f"topic(s) {', '.join(missing)} do not exist on Kafka at {settings.kafka_bootstrap}: "
            "run `parklink topics apply` first"
        )
    return found


def ensure_topics(settings: DetectorSettings, wanted: dict[str, tuple[int, bool]]) -> None:
    """Create the detector's own topics (name -> (partitions, compacted)) before faust starts,
    so the first group assignment already sees them all."""
    client = admin(settings.bootstrap_servers)
    try:
        existing = {t["name"] for t in client.describe_topics() if not t.get("error_code")}
        new = [
            NewTopic(
                name,
                partitions,
                settings.detector_replication,
                # Broker time orders each partition's messages; the alert stage relies on it
                # to tell a stale re-send from a new conclusion (see rules/emit.py).
                topic_configs={"cleanup.policy": "compact"}
                if compact
                else {"cleanup.policy": "delete", "message.timestamp.type": "LogAppendTime"},
            )
            for name, (partitions, compact) in wanted.items()
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker was quicker
                client.create_topics(new)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            ready = {t["name"] for t in client.describe_topics(list(wanted)) if t["partitions"]}
            if ready >= set(wanted):
                return
            time.sleep(0.2)
        raise ParkLinkError(f"the detector's topics did not appear: {sorted(set(wanted) - ready)}")
    finally:
        client.close()


def _length_of(table: Any) -> Callable[[], float]:
    return lambda: float(len(table))


class Detector:
    """The faust app and everything its agents share."""

    def __init__(
        self,
        settings: DetectorSettings,
        limits: Thresholds,
        registry: RegistryClient | None = None,
    ) -> None:
        self.settings = settings
        self.limits = limits
        self.stages = Stages(limits)
        self.registry = registry or RegistryClient(settings.registry_url)
        self.metrics_registry = m.new_registry("detector")
        self.metrics = DetectorMetrics.create(self.metrics_registry)
        self.heartbeats: dict[str, int] = {}
        self.week_book: dict[str, Week] = {}  # derived from the weeks and week-orders tables
        self.heartbeat_ms = int(limits.heartbeat_seconds * 1000)
        self.own_topics: dict[str, tuple[int, bool]] = {}

        prefix = settings.topic_prefix
        catalog = load_catalog()
        self.topic_names = {
            role: catalog[role].topic(prefix) for role in (*SOURCES, "alerts", "dlq")
        }
        self.partitions = partition_counts(settings, list(self.topic_names.values()))
        alerts_subject = catalog["alerts"].subject(prefix)
        self.deserializers: dict[str, Deserializer[Any]] = {
            role: Deserializer(self.registry, PARK_EVENT_MODELS[role]) for role in SOURCES
        }
        self.alert_codec = SerdeCodec(
            Serializer(self.registry, DisruptionAlert, alerts_subject),
            Deserializer(self.registry, DisruptionAlert),
        )
        self.app = self._new_app()
        self._declare()

    def create_topics(self) -> None:
        ensure_topics(self.settings, self.own_topics)

    def _new_app(self) -> faust.App:
        s = self.settings
        return faust.App(
            s.detector_group,
            # faust lets plain environment variables (PROCESSING_GUARANTEE, BROKER_URL,
            # WEB_PORT, ...) override the settings given here; only PARKLINK_* may configure
            # the detector. An inherited PROCESSING_GUARANTEE=exactly_once made workers run
            # transactional producers that the crash-safety design does not expect.
            env={},
            processing_guarantee="at_least_once",
            broker=[f"kafka://{server}" for server in s.bootstrap_servers],
            store="memory://",
            datadir=str(s.data_dir),
            autodiscover=False,
            web_enabled=True,
            web_bind=s.detector_host,
            web_host=s.detector_host,
            web_port=s.detector_port,
            topic_replication_factor=s.detector_replication,
            topic_partitions=s.detector_partitions,
            table_standby_replicas=0,
            consumer_auto_offset_reset="earliest",
            broker_commit_interval=s.detector_commit_seconds,
            broker_session_timeout=s.detector_session_timeout_seconds,
            broker_heartbeat_interval=s.detector_session_timeout_seconds / 3,
            producer_acks=-1,
            key_serializer="raw",
            value_serializer="raw",
        )

    def _own_name(self, name: str, partitions: int, compact: bool) -> str:
        full = f"{self.settings.topic_prefix}{self.settings.detector_group}-{name}"
        self.own_topics[full] = (partitions, compact)
        return full

    def _internal(self, name: str, value: Any, partitions: int | None = None) -> Any:
        partitions = partitions or self.settings.detector_partitions
        return self.app.topic(
            self._own_name(name, partitions, compact=False),
            key_serializer=Utf8Codec(),
            value_serializer=DataclassCodec(value),
            partitions=partitions,
            internal=True,
        )

    def _table(self, name: str, value_codec: Any, partitions: int, changelog: Any = None) -> Any:
        if changelog is None:
            changelog = self.app.topic(
                self._own_name(f"{name}-changelog", partitions, compact=True),
                key_serializer=Utf8Codec(),
                value_serializer=value_codec,
                partitions=partitions,
                internal=True,
                compacting=True,
                acks=False,
            )
        table: Any = self.app.Table(name, partitions=partitions, changelog_topic=changelog)
        # faust derives a table's serializers from key/value types; ours are codecs.
        table.key_serializer = Utf8Codec()
        table.value_serializer = value_codec
        return table

    def _declare(self) -> None:
        app, names, parts = self.app, self.topic_names, self.partitions
        sources = {
            role: app.topic(names[role], key_serializer="raw", value_serializer="raw")
            for role in SOURCES
        }
        self.dlq_topic = app.topic(names["dlq"], key_serializer="raw", value_serializer="raw")
        alerts_n = parts[names["alerts"]]
        # One message per key and source batch (WeekUpdates, CorridorUpdates); the topics
        # are new names because their messages are no longer single updates.
        self.weeks_topic = self._internal("week-updates", WeekUpdates)
        self.corridors_topic = self._internal("corridor-updates", CorridorUpdates)
        self.parks_topic = self._internal("parks", ParkMessage)
        # Keyed by alert_id with as many partitions as the alerts topic: partition p of this
        # topic holds exactly the alert ids of partition p of the alerts topic.
        self.candidates_topic = self._internal("alert-candidates", AlertState, alerts_n)

        n = self.settings.detector_partitions
        self.orders = self._table("orders", DataclassCodec(OrderEntity), parts[names["orders"]])
        self.shipments = self._table(
            "shipments", DataclassCodec(ShipmentEntity), parts[names["shipments"]]
        )
        self.weeks = self._table("week-heads", DataclassCodec(WeekHead), n)
        self.week_orders = self._table("week-orders", DataclassCodec(OrderView), n)
        self.weeks.on_recover(self._rebuild_weeks)
        self.corridors = self._table("corridors", DataclassCodec(CorridorState), n)
        self.parks = self._table("parks", DataclassCodec(ParkActivity), n)
        alerts_topic = app.topic(
            names["alerts"],
            key_serializer=Utf8Codec(),
            value_serializer=self.alert_codec,
            partitions=alerts_n,
            acks=False,
        )
        self.emitted = self._table("emitted", self.alert_codec, alerts_n, alerts_topic)
        self._topic_names = {
            id(topic): topic.get_topic_name()
            for topic in (
                self.weeks_topic,
                self.corridors_topic,
                self.parks_topic,
                self.candidates_topic,
                *(t.changelog_topic for t in self._tables()),
            )
        }

        for fn, channel in (
            (agents.orders_agent, sources["orders"]),
            (agents.shipments_agent, sources["shipments"]),
            (agents.capacity_agent, sources["capacity"]),
            (agents.weeks_agent, self.weeks_topic),
            (agents.corridors_agent, self.corridors_topic),
            (agents.parks_agent, self.parks_topic),
            (agents.alerts_agent, self.candidates_topic),
        ):
            app.agent(channel, name=fn.__name__.removesuffix("_agent"))(fn(self))
        app.timer(self.limits.silent_check_seconds, name="silence-check")(agents.tick_timer(self))
        self._web()

    def _tables(self) -> list[Any]:
        return [
            self.orders,
            self.shipments,
            self.weeks,
            self.week_orders,
            self.corridors,
            self.parks,
            self.emitted,
        ]

    def _web(self) -> None:
        tables = {
            "orders": self.orders,
            "shipments": self.shipments,
            "weeks": self.weeks,
            "week_orders": self.week_orders,
            "corridors": self.corridors,
            "parks": self.parks,
            "alerts": self.emitted,
        }
        size = m.gauge(
            self.metrics_registry, m.DETECTOR_TABLE_SIZE, "Entries per state table.", ("table",)
        )
        for label, table in tables.items():
            size.labels(table=label).set_function(_length_of(table))
        detector = self

        class Health(faust.web.View):
            async def get(self, request: Any) -> Any:
                return self.json({"status": "ok"})

        class Ready(faust.web.View):
            async def get(self, request: Any) -> Any:
                problems = await detector.problems()
                if problems:
                    return self.json({"status": "not ready", "problems": problems}, status=503)
                return self.json({"status": "ready"})

        class Metrics(faust.web.View):
            async def get(self, request: Any) -> Any:
                body, _ = m.render(detector.metrics_registry)
                return self.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

        self.app.page("/healthz")(Health)
        self.app.page("/readyz")(Ready)
        self.app.page("/metrics")(Metrics)

    async def _rebuild_weeks(self) -> None:
        """After every (re)assignment, once the tables are restored: the weeks in memory are
        exactly what the tables hold for this worker's partitions."""
        self.week_book = weeks.rebuild(self.weeks.data.items(), self.week_orders.data.items())

    async def problems(self) -> dict[str, str]:
        """Empty when the worker has joined its group, restored its tables and can reach the
        schema registry."""
        problems: dict[str, str] = {}
        app = self.app
        tables: Any = app.tables
        if app.rebalancing or not tables.recovery.completed.is_set():
            problems["kafka"] = "joining the consumer group / restoring tables"
        try:
            await asyncio.wait_for(asyncio.to_thread(self.registry.ping), timeout=3)
        except (ParkLinkError, TimeoutError) as exc:
            problems["registry"] = str(exc) or "timed out"
        return problems

    async def put(self, table: Any, key: str, value: Any, partition: int) -> Any:
        """Set a table entry and write it to the table's changelog, in `partition` (that of
        the message being processed).

        faust's own `table[key] = value` queues the changelog write in a buffer that its
        pre-commit flush may leave undrained (it gives up after 0.1 s), so offsets could be
        committed ahead of the state. Sending through the producer directly puts the write
        in the batch that the commit's producer flush does wait for. Returns the send's
        future (done once Kafka has the write)."""
        table.data[key] = value
        # Let the memory store drop the key when this partition is revoked.
        table.data._key_partition[key] = partition
        return await self._produce(table.changelog_topic, key, value, partition)

    def committed(self, tp: Any) -> int | None:
        """The partition's committed offset as this worker knows it (records below it have
        been processed and their sends flushed), None before the first commit it sees."""
        consumer: Any = self.app.consumer
        offset: int | None = consumer._committed_offset.get(tp)
        return offset

    async def send(self, topic: Any, key: str, value: Any) -> Any:
        """Pass a message on to one of the detector's own topics, partitioned by key."""
        return await self._produce(topic, key, value, None)

    async def _produce(self, topic: Any, key: str, value: Any, partition: int | None) -> Any:
        # Straight to the producer with bytes encoded here: faust's Topic.send builds a
        # pending message, a future and callbacks per message, which cost more than the
        # encoding itself. The commit's producer flush covers these sends all the same.
        return await self.app.producer.send(
            self._topic_names[id(topic)],
            key.encode(),
            topic.value_serializer.dumps(value),
            partition,
            None,
            None,
        )

    async def dead_letter(self, message: Any, exc: SerdeError) -> None:
        """Set an undecodable or invalid record aside with where it came from and why."""
        headers = [
            ("topic", message.topic.encode()),
            ("partition", str(message.partition).encode()),
            ("offset", str(message.offset).encode()),
            ("error", exc.reason.encode()),
            ("error_message", str(exc).encode()[:2000]),
        ]
        await self.dlq_topic.send(key=message.key, value=message.value, headers=headers)
        role = next((r for r, t in self.topic_names.items() if t == message.topic), message.topic)
        self.metrics.dlq.labels(topic=role, reason=exc.reason).inc()
        log.warning("dead-lettered %s", exc)
