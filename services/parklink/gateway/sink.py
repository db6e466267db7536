"""Kafka plumbing of the gateway: one kafka-python producer (idempotent, acks=all) fed from a
single sender thread, and an asyncio future per request that resolves once every record of
the request is acknowledged, so the event loop never blocks on Kafka."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from parklink.eventkit import bus
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent
from parklink.eventkit.encoding import EventEncoder
from parklink.eventkit.errors import DeliveryFailed, ParkLinkError
from parklink.eventkit.registry_client import RegistryClient, RegistryError

log = logging.getLogger(__name__)

ProducerFactory = Callable[..., KafkaProducer]


class _Acks:
    """Counts the acknowledgements of one request's records (called on the producer's I/O
    thread) and settles the request's asyncio future once: all acked, or the first failure."""

    def __init__(self, count: int, loop: asyncio.AbstractEventLoop, done: asyncio.Future[None]):
        self._left = count
        self._loop = loop
        self._done = done
        self._lock = threading.Lock()
        self._settled = False

    def ok(self, _metadata: Any) -> None:
        with self._lock:
            self._left -= 1
            if self._left or self._settled:
                return
            self._settled = True
        self._loop.call_soon_threadsafe(_settle, self._done, None)

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self._settled:
                return
            self._settled = True
        self._loop.call_soon_threadsafe(_settle, self._done, exc)


def _settle(done: asyncio.Future[None], exc: BaseException | None) -> None:
    if done.done():  # the request already gave up waiting
        return
    if exc is None:
        done.set_result(None)
    else:
        done.set_exception(exc)


class KafkaSink:
    def __init__(
        self,
        bootstrap: Sequence[str],
        registry: RegistryClient,
        encoder: EventEncoder,
        timeout_s: float,
        producer_factory: ProducerFactory = bus.producer,
    ) -> None:
        self._bootstrap = list(bootstrap)
        self._registry = registry
        self._encoder = encoder
        self._timeout_s = timeout_s
        self._factory = producer_factory
        self._producer: KafkaProducer | None = None
        self._api_version: tuple[int, ...] | None = None
        self._failed_since_start = False
        self._sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-send")

    # -- the producer ---------------------------------------------------------------------------
    def _live_producer(self) -> KafkaProducer:
        """The producer, made on first use. After a delivery failure it is replaced: an
        idempotent producer whose batches expired may hold a stale sequence state, and a fresh
        one reconnects cleanly once the broker is back (no gateway restart needed)."""
        if self._producer is not None and self._failed_since_start:
            log.info("replacing the Kafka producer after a delivery failure")
            old, self._producer = self._producer, None
            try:
                old.close(timeout=0)
            except KafkaError as exc:
                # Its records were never acknowledged (their requests got 503 already); a
                # producer that cannot close cleanly must not fail the request in hand.
                log.info("the failed Kafka producer did not close cleanly: %s", exc)
        if self._producer is None:
            timeout_ms = int(self._timeout_s * 1000)
            conf: dict[str, Any] = {
                "delivery_timeout_ms": timeout_ms,
                "request_timeout_ms": min(timeout_ms // 2, 10_000),
                "max_block_ms": min(timeout_ms // 2, 5_000),
                "bootstrap_timeout_ms": min(timeout_ms // 2, 5_000),
                "client_id": "parklink-gateway",
            }
            if self._api_version is not None:
                # Known from an earlier producer: the new one need not reach a broker to start.
                conf["api_version"] = self._api_version
            self._producer = self._factory(self._bootstrap, **conf)
            self._api_version = self._producer.config["api_version"]
            self._failed_since_start = False
        return self._producer

    def _mark_failed(self, _exc: BaseException) -> None:
        self._failed_since_start = True

    # -- publishing -----------------------------------------------------------------------------
    def _submit(
        self,
        kind: str,
        events: Sequence[ParkEvent],
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[None],
    ) -> None:
        """On the sender thread: frame every event, then hand every record to the producer."""
        try:
            records = self._encoder.encode_many(kind, events)
        except RegistryError as exc:
            raise DeliveryFailed(f"schema registry unavailable: {exc}") from exc
        try:
            producer = self._live_producer()
        except ParkLinkError as exc:
            raise DeliveryFailed(str(exc)) from exc
        topic = self._encoder.topic(kind)
        acks = _Acks(len(records), loop, done)
        try:
            for key, value in records:
                future = producer.send(topic, key=key, value=value)
                future.add_callback(acks.ok)
                future.add_errback(acks.fail)
                future.add_errback(self._mark_failed)
        except KafkaError as exc:
            self._failed_since_start = True
            raise DeliveryFailed(f"Kafka did not take the records: {exc}") from exc

    async def publish(self, kind: str, events: Sequence[ParkEvent]) -> None:
        """Return once Kafka acknowledged every event (acks=all); DeliveryFailed otherwise."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        await loop.run_in_executor(self._sender, self._submit, kind, events, loop, done)
        try:
            await asyncio.wait_for(done, self._timeout_s + 1)
        except TimeoutError as exc:
            raise DeliveryFailed(
                f"Kafka did not acknowledge within {self._timeout_s:.0f}s"
            ) from exc
        except KafkaError as exc:
            raise DeliveryFailed(f"Kafka did not acknowledge: {exc}") from exc

    # -- readiness and shutdown -----------------------------------------------------------------
    def _problems(self) -> dict[str, str]:
        problems = {}
        try:
            client = bus.admin(self._bootstrap, bootstrap_timeout_ms=2000, request_timeout_ms=2000)
            try:
                client.describe_cluster()
            finally:
                client.close()
        except (ParkLinkError, KafkaError) as exc:
            problems["kafka"] = f"Kafka at {','.join(self._bootstrap)} unreachable: {exc}"

        try:
            self._registry.ping()
        except ParkLinkError as exc:
            problems["registry"] = str(exc)
        return problems

    async def ready(self) -> dict[str, str]:
        return await asyncio.get_running_loop().run_in_executor(None, self._problems)

    def warm_up(self) -> None:
        """Fetch the schema ids and connect the producer before the first request."""
        try:
            for kind in PARK_EVENT_MODELS:
                self._encoder.prepare(kind)
            self._sender.submit(self._live_producer).result()
        except (ParkLinkError, KafkaError) as exc:
            log.warning("not ready yet (will retry on the first request): %s", exc)

    def close(self, timeout_s: float = 30.0) -> None:
        """Wait for the sender thread, flush what is in flight, close the producer."""
        self._sender.shutdown(wait=True)
        if self._producer is not None:
            try:
                self._producer.flush(timeout=timeout_s)
            except KafkaError as exc:
                log.warning("records still unacknowledged at shutdown: %s", exc)
            self._producer.close(timeout=5)
            self._producer = None
        self._registry.close()
