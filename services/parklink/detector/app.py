"""Wires the detector: the faust app, and the topics, tables and stages of `topology.py` on
it, the web endpoints and the metrics. `runtime.py` runs the stages; docs/detector.md tells
the design."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp.web
import faust
from faust.web.drivers.aiohttp import Web as AiohttpWeb
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from parklink.detector import faustext
from parklink.detector.codec import DataclassCodec, EventDecoder, SerdeCodec, Utf8Codec
from parklink.detector.config import DetectorSettings
from parklink.detector.runtime import FaustStageIO, FaustTable, Output, Runtime, StageRunner
from parklink.detector.stages import Stages
from parklink.detector.state import ParkMessage
from parklink.detector.thresholds import Thresholds
from parklink.detector.topology import ALERTS, INTERNAL, SOURCES, TABLES, TICKS, TOPICS, TOPOLOGY
from parklink.eventkit import metrics as m
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.bus import admin, faust_broker_credentials
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, Serializer
from parklink.eventkit.web import METRICS_REFUSAL, error_body, metrics_allowed

log = logging.getLogger(__name__)

FETCH_BYTES_PER_PARTITION = 256 * 1024
PRODUCE_BATCH_BYTES = 512 * 1024
"""The producer's record batch per partition (aiokafka: 16 KiB). A stage writes a changelog
entry per changed key of a fetch, hundreds to one partition at once; with 16 KiB batches
every fortieth write waited for the batch before it to be sent and acknowledged."""


@dataclass
class DetectorMetrics:
    events_in: Counter
    alerts_out: Counter
    dlq: Counter
    refused: Counter
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
            refused=m.counter(
                registry,
                m.DETECTOR_REFUSED,
                "Park events refused by the party rules, party binding or time bounds, by "
                "source park and reason (party-rule, party-mismatch, out-of-bounds, past-week).",
                ("park", "reason"),
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


OWN_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""All that the detector's web port answers."""


def _length_of(table: Any) -> Callable[[], float]:
    return lambda: float(len(table))


class Detector:
    """The faust app with the detector's topics, tables and stages on it."""

    def __init__(
        self,
        settings: DetectorSettings,
        limits: Thresholds,
        registry: RegistryClient | None = None,
    ) -> None:
        faustext.check()
        self.settings = settings
        self.limits = limits
        self.registry = registry or RegistryClient(settings.registry_url)
        self.metrics_registry = m.new_registry("detector")
        self.metrics = DetectorMetrics.create(self.metrics_registry)
        self.own_topics: dict[str, tuple[int, bool]] = {}

        prefix = settings.topic_prefix
        catalog = load_catalog()
        self.topic_names = {
            role: catalog[role].topic(prefix) for role in (*SOURCES, "alerts", "dlq")
        }
        self.partitions = partition_counts(settings, list(self.topic_names.values()))
        self.alert_codec = SerdeCodec(
            Serializer(self.registry, DisruptionAlert, catalog["alerts"].subject(prefix)),
            Deserializer(self.registry, DisruptionAlert),
        )
        self.app = self._new_app()
        self.runtime = Runtime(self.app, self.metrics, self.topic_names["dlq"])
        self.tables: dict[str, Any] = {}
        self._declare()
        faustext.batch_consumer(
            self.app, self.runtime.topics, self.runtime.on_batch, self.runtime.downstream
        )

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
            broker_credentials=faust_broker_credentials(s),
            store="memory://",
            datadir=str(s.data_dir),
            autodiscover=False,
            web_enabled=True,
            # Only /healthz, /readyz and /metrics: faust's own views would show table data
            # (/table), the cluster's workers (/router), sensors and assignment (/, /graph).
            web_router_enabled=False,
            web_tables_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_metrics_enabled=False,
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
            broker_max_poll_records=s.detector_fetch_records,
            # faust asks for 4 MiB per partition: a backlog would then be fetched (and
            # processed) one partition after the other, and a record near the head of the
            # last one would wait for all the others.
            consumer_max_fetch_size=FETCH_BYTES_PER_PARTITION,
            producer_acks=-1,
            producer_linger=0.002,
            producer_max_batch_size=PRODUCE_BATCH_BYTES,
            key_serializer="raw",
            value_serializer="raw",
        )

    def _partitions_of(self, kind: str) -> int:
        if kind == INTERNAL:
            return self.settings.detector_partitions
        if kind == ALERTS:
            return self.partitions[self.topic_names["alerts"]]
        return self.partitions[self.topic_names[kind]]

    def _own_name(self, name: str, partitions: int, compact: bool) -> str:
        full = f"{self.settings.topic_prefix}{self.settings.detector_group}-{name}"
        self.own_topics[full] = (partitions, compact)
        return full

    def _table(self, name: str, codec: Any, partitions: int, changelog: Any) -> Any:
        table: Any = self.app.Table(name, partitions=partitions, changelog_topic=changelog)
        faustext.table_codecs(table, Utf8Codec(), codec)
        return table

    def _declare(self) -> None:
        app = self.app
        inputs: dict[str, tuple[str, Any]] = {}  # input name -> (topic, decoder)
        for role in SOURCES:
            name = self.topic_names[role]
            app.topics.add(app.topic(name, key_serializer="raw", value_serializer="raw"))
            inputs[role] = (name, EventDecoder(self.registry, role))
        outputs: dict[str, Output] = {}
        for spec in TOPICS:
            partitions = self._partitions_of(spec.partitions)
            items: Any = DataclassCodec(tuple[spec.item, ...])  # type: ignore[name-defined]
            topic = app.topic(
                self._own_name(spec.suffix, partitions, compact=False),
                key_serializer="raw",
                value_serializer="raw",
                partitions=partitions,
                internal=True,
            )
            app.topics.add(topic)
            outputs[spec.name] = Output(spec.name, topic.get_topic_name(), items)
            inputs[spec.name] = (topic.get_topic_name(), items)
        views: dict[str, FaustTable] = {}
        for tspec in TABLES:
            partitions = self._partitions_of(tspec.partitions)
            codec: Any
            if tspec.changelog_is_alerts:
                codec = self.alert_codec
                changelog = app.topic(
                    self.topic_names["alerts"],
                    key_serializer=Utf8Codec(),
                    value_serializer=codec,
                    partitions=partitions,
                    acks=False,
                )
            else:
                codec = DataclassCodec(tspec.value)
                changelog = app.topic(
                    self._own_name(f"{tspec.name}-changelog", partitions, compact=True),
                    key_serializer=Utf8Codec(),
                    value_serializer=codec,
                    partitions=partitions,
                    internal=True,
                    compacting=True,
                    acks=False,
                )
            table = self._table(tspec.name, codec, partitions, changelog)
            table.on_recover(self._restored)
            self.tables[tspec.name] = table
            views[tspec.name] = FaustTable(tspec, table, changelog.get_topic_name(), codec)
        stages = Stages(self.limits, TimeBounds.from_settings(self.settings))
        for stage in TOPOLOGY:
            name, decoder = inputs[stage.input]
            io = FaustStageIO(
                app,
                stage,
                stages,
                {t: views[t] for t in stage.tables},
                {o: outputs[o] for o in stage.outputs},
                name,
            )
            self.runtime.add(StageRunner(self.runtime, stage, io, decoder), name)
        ticks = outputs[TICKS]

        async def tick() -> None:
            """Wall-clock ticks for PARK_SILENT, one per park-stage partition this worker
            owns; they go through the topic so the table only changes in its stage."""
            now = stages.clock.now()
            for send in self.runtime.tick_sends(ticks.topic, ticks.codec, ParkMessage(tick=now)):
                await send

        check_s = stages.clock.wall_seconds(self.limits.silent_check_seconds, floor=1.0)
        app.timer(check_s, name="silence-check")(tick)
        self._web()

    async def _restored(self) -> None:
        self.runtime.reset_caches()

    def _web(self) -> None:
        size = m.gauge(
            self.metrics_registry, m.DETECTOR_TABLE_SIZE, "Entries per state table.", ("table",)
        )
        labels = {
            "week-heads": "weeks",
            "week-orders": "week_orders",
            "corridor-heads": "corridors",
            "corridor-shipments": "corridor_shipments",
            "emitted": "alerts",
        }
        for name, table in self.tables.items():
            size.labels(table=labels.get(name, name)).set_function(_length_of(table))
        detector = self
        token = self.settings.metrics_secret()

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
                if not metrics_allowed(token, request.headers.get("Authorization")):
                    return self.json(
                        error_body("unauthorized", METRICS_REFUSAL),
                        status=401,
                        headers={"WWW-Authenticate": "Bearer"},
                    )
                body, _ = m.render(detector.metrics_registry)
                return self.bytes(body, content_type=CONTENT_TYPE_LATEST.split(";")[0])

        self.app.page("/healthz")(Health)
        self.app.page("/readyz")(Ready)
        self.app.page("/metrics")(Metrics)

        @aiohttp.web.middleware
        async def only_ours(request: aiohttp.web.Request, handler: Any) -> Any:
            """faust serves an index at / that no setting turns off, and a release may add
            views: the detector's web answers its three paths and nothing else."""
            if request.path not in OWN_PATHS:
                body = error_body("not_found", f"no endpoint {request.path}")
                return aiohttp.web.json_response(body, status=404)
            return await handler(request)

        web = self.app.web
        if not isinstance(web, AiohttpWeb):
            raise ParkLinkError(f"the detector's web needs faust's aiohttp server, not {web!r}")
        web.web_app.middlewares.append(only_ours)

    async def problems(self) -> dict[str, str]:
        """Empty when the worker has joined its group, restored its tables and can reach the
        schema registry."""
        problems: dict[str, str] = {}
        if not faustext.recovered(self.app):
            problems["kafka"] = "joining the consumer group / restoring tables"
        try:
            await asyncio.wait_for(asyncio.to_thread(self.registry.ping), timeout=3)
        except (ParkLinkError, TimeoutError) as exc:
            problems["registry"] = str(exc) or "timed out"
        return problems
