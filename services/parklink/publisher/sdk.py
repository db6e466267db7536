"""The publisher SDK for parks with Kafka access: the gateway's validation and framing, without
the HTTP hop.

    from parklink.publisher import Publisher

    with Publisher("127.0.0.1:9092", "http://127.0.0.1:8081", park_id="CN-QD-SCODA") as pub:
        pub.publish(order_event)           # an OrderEvent, ShipmentEvent or CapacityEvent
        pub.publish({...}, kind="orders")  # or a dict, validated like the gateway does

Events are refused before anything is sent, as the gateway refuses them: ForeignPark when
they are not this park's to publish (another source_park, a party rule), EventRejected when
they break the contract, its field bounds or the time bounds (`time_bounds`, by default
event_time at most 10 minutes ahead and 30 days old; docs/bounds.md).
        pub.flush()                        # waits for acks=all; DeliveryFailed if not

Records are batched by the producer (linger/batch size); `publish` only validates, encodes and
hands the record over, with its partition chosen as kafka-python's default partitioner chooses
it (`partitioning`), and lets go of the records Kafka has acknowledged as soon as it sees them.
A batch of dicts is first checked as plain dicts against the contract's bounds and written
straight from them (`admit_plain`, `EventEncoder.encode_plain`); when the check has the least
doubt the batch is judged like the gateway judges it, so refusals are the same either way.
`flush()` is the point where delivery is known: it returns how many records were acknowledged
since the last flush and raises DeliveryFailed naming the event ids Kafka did not take.
Leaving the `with` block flushes and closes."""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from kafka.future import Future

from parklink.eventkit import access
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.bus import producer
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS, PARK_ID_PATTERN, ParkEvent, now_utc
from parklink.eventkit.encoding import EventEncoder
from parklink.eventkit.errors import DeliveryFailed, PublishError
from parklink.eventkit.parties import check_own_park
from parklink.eventkit.registry_client import RegistryClient, RegistryError
from parklink.eventkit.serde import SchemaSource
from parklink.eventkit.validation import Plain, admit_events, admit_plain, validate_batch
from parklink.publisher.partitioning import PartitionOf, partitioner_for

log = logging.getLogger(__name__)

Event = ParkEvent | Mapping[str, Any]
Handed = tuple[Future, str]
"""A record's future, and the id of its event."""
PENDING_LIMIT = 100_000
"""Records still awaiting their ack that are kept track of before the whole list, not only its
head, is looked at for the acknowledged ones."""


class Publisher:
    """Publishes one park's events to the alliance topics (acks=all, idempotent producer)."""

    def __init__(
        self,
        bootstrap: str | Sequence[str],
        registry: str | SchemaSource,
        park_id: str,
        topic_prefix: str = "alliance.",
        *,
        delivery_timeout_s: float = 30.0,
        time_bounds: TimeBounds | None = None,
        clock: Callable[[], datetime] = now_utc,
        ingress: bool = False,
        kafka_producer: KafkaProducer | None = None,
        **producer_overrides: Any,
    ) -> None:
        if not re.fullmatch(PARK_ID_PATTERN, park_id):
            raise PublishError(f"{park_id!r} is not a park id (like CN-QD-SCODA)")
        self.park_id = park_id
        self._bounds = time_bounds or TimeBounds()
        self._clock = clock
        servers = bootstrap.split(",") if isinstance(bootstrap, str) else list(bootstrap)
        self._own_registry = isinstance(registry, str)
        self._registry: SchemaSource = (
            RegistryClient(registry) if isinstance(registry, str) else registry
        )
        self._encoder = EventEncoder(self._registry, topic_prefix)
        # A park that logs in to Kafka as itself may write only its own ingress topics; the
        # relay passes them on to the shared topics (docs/security.md).
        self._ingress: dict[type[ParkEvent], str] | None = None
        if ingress:
            catalog = load_catalog()
            self._ingress = {
                model: access.ingress_topic(catalog, topic_prefix, park_id, role)
                for role, model in PARK_EVENT_MODELS.items()
            }
        self._delivery_timeout_s = delivery_timeout_s
        self._producer = kafka_producer or producer(
            servers, delivery_timeout_ms=int(delivery_timeout_s * 1000), **producer_overrides
        )
        self._lock = threading.Lock()
        self._pending: deque[Handed] = deque()
        self._pending_limit = PENDING_LIMIT
        self._acked = 0
        self._failed: list[tuple[str, BaseException]] = []
        self._closed = False

    # -- publishing ---------------------------------------------------------------------------
    def publish(self, event: Event, kind: str | None = None) -> str:
        """Validate, encode and hand over one event; returns its event_id."""
        return self.publish_many([event], kind)[0]

    def publish_many(self, events: Iterable[Event], kind: str | None = None) -> list[str]:
        """Validate all the events first (all or nothing), then hand them over in order.
        Dicts need `kind` (orders, shipments, capacity); models carry their own."""
        items = list(events)
        plain = None
        if kind is not None and all(type(e) is dict for e in items):
            plain = admit_plain(kind, items, self.park_id, self._clock(), self._bounds)
        handed: list[Handed] = []
        try:
            if kind is None or plain is None:
                models = self._validate(items, kind)
                if self._closed:
                    raise PublishError("the publisher is closed")
                for event in models:
                    self._send(event, handed)
            else:
                if self._closed:
                    raise PublishError("the publisher is closed")
                self._send_plain(kind, plain, handed)
        finally:
            self._track(handed)
        return [event_id for _, event_id in handed]

    def _track(self, handed: list[Handed]) -> None:
        """Keep the records' futures until they are done (cheaper than a callback on every
        record), and count the done ones at the head of the line: an acknowledged record is
        let go as soon as it is seen done, a failed one leaves its event id for the next flush.

        Letting them go early matters for speed, not only memory: tens of thousands of
        futures kept until a flush would be traversed by every full garbage collection of the
        process (which then costs more than the encoding). Records are acknowledged about in
        the order they were handed over, so the head is mostly done; should one partition be
        slow, the whole line is looked at once it is long (PENDING_LIMIT)."""
        with self._lock:
            pending = self._pending
            pending.extend(handed)
            while pending and pending[0][0].is_done:
                self._settle(pending.popleft())
            if len(pending) > self._pending_limit:
                self._settle_done()
                self._pending_limit = max(PENDING_LIMIT, 2 * len(self._pending))

    def _settle(self, handed: Handed) -> None:
        """Count a done record (under the lock)."""
        future, event_id = handed
        if future.exception is None:
            self._acked += 1
        else:
            self._failed.append((event_id, future.exception))

    def _settle_done(self) -> None:
        """Count every done record and keep only those still in flight (under the lock)."""
        waiting: deque[Handed] = deque()
        for handed in self._pending:
            if handed[0].is_done:
                self._settle(handed)
            else:
                waiting.append(handed)
        self._pending = waiting

    def _validate(self, events: list[Event], kind: str | None) -> list[ParkEvent]:
        docs = [e for e in events if not isinstance(e, ParkEvent)]
        models = [e for e in events if isinstance(e, ParkEvent)]
        if docs:
            if kind is None:
                raise PublishError("publishing dicts needs kind= (orders, shipments or capacity)")
            check_own_park(kind, docs, self.park_id)
            validated = iter(validate_batch(kind, docs))
            models = [e if isinstance(e, ParkEvent) else next(validated) for e in events]
        return admit_events(models, self.park_id, self._clock(), self._bounds)

    def _send(self, event: ParkEvent, handed: list[Handed]) -> None:
        try:
            key, value, topic = self._encoder.encode_for(event)
        except RegistryError as exc:
            raise DeliveryFailed(f"cannot frame the event: {exc}", [event.event_id]) from exc
        if self._ingress is not None:
            topic = self._ingress[type(event)]
        self._hand_over(topic, key, value, event.event_id, handed)

    def _send_plain(self, kind: str, events: list[Plain], handed: list[Handed]) -> None:
        """Events that `admit_plain` took: encoded in one go, then handed over in order."""
        try:
            records = self._encoder.encode_plain(kind, events)
        except RegistryError as exc:
            raise DeliveryFailed(f"cannot frame the events: {exc}", [events[0].event_id]) from exc
        topic = self._encoder.topic(kind)
        if self._ingress is not None:
            topic = self._ingress[PARK_EVENT_MODELS[kind]]
        partition_of = self._partitioner(topic, events[0].event_id)
        send = self._producer.send
        for (key, value), event in zip(records, events, strict=True):
            try:
                future = send(topic, key=key, value=value, partition=partition_of(key))
            except KafkaError as exc:
                raise DeliveryFailed(
                    f"Kafka did not take event {event.event_id}: {exc}", [event.event_id]
                ) from exc
            handed.append((future, event.event_id))

    def _partitioner(self, topic: str, event_id: str) -> PartitionOf:
        """The partitions of the next records to `topic` (`partitioning.partitioner_for`)."""
        try:
            return partitioner_for(self._producer, topic)
        except KafkaError as exc:
            raise DeliveryFailed(f"Kafka did not take event {event_id}: {exc}", [event_id]) from exc

    def _hand_over(
        self, topic: str, key: bytes, value: bytes, event_id: str, handed: list[Handed]
    ) -> None:
        partition = self._partitioner(topic, event_id)(key)
        try:
            future = self._producer.send(topic, key=key, value=value, partition=partition)
        except KafkaError as exc:
            raise DeliveryFailed(f"Kafka did not take event {event_id}: {exc}", [event_id]) from exc
        handed.append((future, event_id))

    # -- delivery -----------------------------------------------------------------------------
    def flush(self, timeout_s: float | None = None) -> int:
        """Wait until every handed-over record is acknowledged (acks=all); returns how many
        were since the last flush. Raises DeliveryFailed with the ids Kafka did not take."""
        timeout = self._delivery_timeout_s + 5 if timeout_s is None else timeout_s
        try:
            self._producer.flush(timeout=timeout)
        except KafkaError as exc:
            raise DeliveryFailed(f"records not acknowledged within {timeout:.0f}s: {exc}") from exc
        with self._lock:
            # A record handed over while this flush ran may still be in flight: the next
            # flush looks at it.
            self._settle_done()
            acked, failed = self._acked, self._failed
            self._acked, self._failed = 0, []
        for event_id, error in failed:
            log.warning("event %s not delivered: %s", event_id, error)
        if failed:
            first = failed[0][1]
            raise DeliveryFailed(
                f"{len(failed)} of {acked + len(failed)} event(s) not delivered "
                f"({type(first).__name__}: {first})",
                [event_id for event_id, _ in failed],
            )
        return acked

    def close(self, timeout_s: float | None = None) -> None:
        """Flush what is pending, then close the producer (and the registry client we made)."""
        if self._closed:
            return
        self._closed = True
        try:
            self.flush(timeout_s)
        finally:
            self._producer.close(timeout=5)
            if self._own_registry and isinstance(self._registry, RegistryClient):
                self._registry.close()

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
