"""Wiring of the ingress relay: a kafka-python consumer on every park's ingress topics (by
pattern, so a newly admitted park is picked up), the router, an idempotent producer, and
/healthz /readyz /metrics; `main()` runs it until SIGTERM/SIGINT.

At least once: a batch is forwarded (or dead-lettered) and flushed before its offsets are
committed; a record relayed twice after a crash keeps its event_id, which the network uses
to drop repeats. While the schema registry cannot answer, the relay holds the record it is at
(and everything after it) and tries again with backoff (`eventkit.retry`): nothing is
dead-lettered for it, /readyz says so and the gauge `parklink_relay_registry_waiting` is 1."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from prometheus_client import Counter, Gauge
from starlette.concurrency import run_in_threadpool

from parklink.eventkit import bus, metrics, service
from parklink.eventkit.access import INGRESS, SOURCES
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.retry import Outage, Stopping, once_the_registry_answers
from parklink.eventkit.serde import Deserializer, SchemaSource
from parklink.eventkit.web import ops_router
from parklink.relay.config import RelaySettings
from parklink.relay.routing import Forward, Router

log = logging.getLogger(__name__)


def ingress_pattern(prefix: str) -> str:
    return "^" + re.escape(prefix + INGRESS) + r".*"


class Relay:
    def __init__(
        self,
        settings: RelaySettings,
        registry: SchemaSource,
        relayed: Counter,
        waiting: Gauge | None = None,
    ) -> None:
        catalog = load_catalog()
        self.settings = settings
        self.dlq_topic = catalog["dlq"].topic(settings.topic_prefix)
        decoders = {r: Deserializer(registry, PARK_EVENT_MODELS[r]) for r in SOURCES}
        self.router = Router(catalog, settings.topic_prefix, decoders)
        self._relayed = relayed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)
        self.problem: str | None = "starting"
        self.outage = Outage("the relay", log, None if waiting is None else waiting.set)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            producer: KafkaProducer | None = None
            reader: KafkaConsumer | None = None
            try:
                producer = bus.producer(self.settings.bootstrap_servers, client_id="parklink-relay")
                reader = bus.consumer(
                    self.settings.bootstrap_servers,
                    group_id=self.settings.relay_group,
                    client_id="parklink-relay",
                    metadata_max_age_ms=self.settings.relay_refresh_ms,
                    max_poll_records=500,
                )
                reader.subscribe(pattern=ingress_pattern(self.settings.topic_prefix))
                self._loop(reader, producer)
            except Stopping:
                log.info(
                    "relay stopped while waiting for the registry; that batch is not committed"
                )
            except (KafkaError, bus.KafkaUnavailable) as exc:
                self.problem = f"Kafka: {exc}"
                log.warning("relay not connected: %s", exc)
                self._stop.wait(2.0)
            finally:
                if producer is not None:
                    producer.flush(timeout=10)
                    producer.close(timeout=5)
                    log.info("relay producer flushed and closed")
                if reader is not None:
                    reader.close()

    def _loop(self, reader: KafkaConsumer, producer: KafkaProducer) -> None:
        while not self._stop.is_set():
            batches = reader.poll(timeout_ms=500)
            self.problem = None
            if not batches:
                continue
            futures = []
            for records in batches.values():
                for rec in records:
                    futures.append(self._pass_on(producer, rec))
            producer.flush(timeout=30)
            for future in futures:
                future.get(timeout=30)  # raises KafkaError: the batch is read again
            reader.commit()

    def _pass_on(self, producer: KafkaProducer, rec: Any) -> Any:
        decision = once_the_registry_answers(
            lambda: self.router.route(rec.topic, rec.value, rec.partition, rec.offset),
            self.outage,
            self._stop.wait,
        )
        if isinstance(decision, Forward):
            self._relayed.labels(outcome="forwarded", reason="").inc()
            headers = [("ingress-park", decision.park.encode())]
            return producer.send(decision.topic, key=rec.key, value=rec.value, headers=headers)
        self._relayed.labels(outcome="dead-lettered", reason=decision.reason).inc()
        log.warning(
            "dead-lettered %s[%d]@%d: %s", rec.topic, rec.partition, rec.offset, decision.message
        )
        headers = [
            ("topic", rec.topic.encode()),
            ("partition", str(rec.partition).encode()),
            ("offset", str(rec.offset).encode()),
            ("error", decision.reason.encode()),
            ("error_message", decision.message.encode()[:2000]),
        ]
        return producer.send(self.dlq_topic, key=rec.key, value=rec.value, headers=headers)


def create_app(settings: RelaySettings, registry: RegistryClient | None = None) -> FastAPI:
    registry = registry or RegistryClient(settings.registry_url, timeout=5.0)
    collectors = metrics.new_registry("relay")
    relayed = metrics.counter(
        collectors,
        metrics.RELAY_RECORDS,
        "Ingress records forwarded to the park topics or dead-lettered, by reason.",
        ("outcome", "reason"),
    )
    waiting = metrics.gauge(
        collectors,
        metrics.RELAY_REGISTRY_WAITING,
        "1 while the relay holds its records because the schema registry cannot answer.",
    )
    relay = Relay(settings, registry, relayed, waiting)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        relay.start()
        try:
            yield
        finally:
            await run_in_threadpool(relay.stop)
            registry.close()

    async def ready() -> dict[str, str]:
        problems = {} if relay.problem is None else {"kafka": relay.problem}
        try:
            await run_in_threadpool(registry.ping)
        except Exception as exc:  # any failure means not ready; say why
            problems["registry"] = str(exc)
        held = relay.outage.problem
        if held is not None:
            problems["registry"] = f"records held until the registry answers: {held}"
        return problems

    app = FastAPI(title="ParkLink ingress relay", lifespan=lifespan)
    app.state.relay = relay
    app.include_router(ops_router(collectors, ready, settings.metrics_secret()))
    return app


def serve(settings: RelaySettings) -> None:
    log.info(
        "relay on http://%s:%d: %s%s* -> park topics",
        settings.relay_host,
        settings.relay_port,
        settings.topic_prefix,
        INGRESS,
    )
    service.serve(create_app(settings), settings.relay_host, settings.relay_port)


def main() -> None:
    service.main(RelaySettings, serve)
