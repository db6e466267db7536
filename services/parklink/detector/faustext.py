"""Every place where the detector reaches into faust's internals, in one module.

faust-streaming (pinned `>=0.11,<0.16`) runs the worker: the consumer group, rebalancing,
the changelogged tables and their recovery, offset commits, timers and the web server. The
detector takes faust's per-message path (Conductor -> Event -> Stream -> agent) off its hot
path: the consumer hands each fetched batch of the detector's topics to one callback, and the
detector acknowledges the offsets itself. What that needs from faust beyond its documented API
is below, and `check()` (run at startup and by tests/unit/detector/test_faustext.py) fails
loudly when a faust release changes any of it."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from typing import Any

import faust
from aiokafka import AIOKafkaClient, AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.producer.message_accumulator import MessageAccumulator
from faust.assignor.partition_assignor import PartitionAssignor
from faust.stores.memory import Store as MemoryStore
from faust.tables.recovery import Recovery
from faust.transport.consumer import Consumer as FaustConsumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from parklink.eventkit.errors import ParkLinkError

log = logging.getLogger(__name__)

Records = Mapping[TP, Sequence[Any]]
"""A fetched batch: aiokafka ConsumerRecords (topic, partition, offset, timestamp, key,
value, headers) per topic-partition, in offset order."""
BatchHandler = Callable[[Records, int], Awaitable[None]]
"""Takes a batch and the consumer generation it was fetched in."""


FETCH_WAIT_MS = 50
"""How long the broker may hold a fetch that finds no new records."""


class FaustChanged(ParkLinkError):
    """The installed faust no longer has what the detector relies on."""


def check() -> None:
    """Raise FaustChanged if a faust internal used here is gone or has another shape."""
    problems: list[str] = []
    for name in (
        "_wait_next_records",
        "_getmany",
        "_get_active_partitions",
        "_to_message",
        "perform_seek",
        "getmany",
    ):
        method = getattr(faust_aiokafka.Consumer, name, None)
        if not callable(method) or getattr(method, "__isabstractmethod__", False):
            problems.append(f"Consumer.{name} is missing")
    params = list(inspect.signature(FaustConsumer._wait_next_records).parameters)
    if params != ["self", "timeout"]:
        problems.append(f"Consumer._wait_next_records takes {params}, expected (self, timeout)")
    params = list(inspect.signature(faust_aiokafka.Consumer._getmany).parameters)
    if params != ["self", "active_partitions", "timeout"]:
        problems.append(f"Consumer._getmany takes {params}")
    init = inspect.getsource(FaustConsumer.__init__)
    for attr in ("_acked", "_acked_index", "_committed_offset", "_read_offset"):
        if f"self.{attr} =" not in init:
            problems.append(f"Consumer.__init__ no longer sets {attr}")
    if not hasattr(FaustConsumer, "_n_acked"):
        problems.append("Consumer._n_acked is gone")
    if "_buffered_partitions" not in inspect.getsource(FaustConsumer):
        problems.append("Consumer._buffered_partitions is gone")
    send = list(inspect.signature(faust_aiokafka.Producer.send).parameters)
    if send[:7] != ["self", "topic", "key", "value", "partition", "timestamp", "headers"]:
        problems.append(f"Producer.send takes {send}")
    if not callable(getattr(faust_aiokafka.Producer, "_ensure_producer", None)):
        problems.append("Producer._ensure_producer is gone")
    for name in ("create_batch", "send_batch"):
        if not callable(getattr(AIOKafkaProducer, name, None)):
            problems.append(f"aiokafka's producer has no {name}")
    params = list(inspect.signature(AIOKafkaProducer._partition).parameters)
    if params != [
        "self",
        "topic",
        "partition",
        "key",
        "value",
        "serialized_key",
        "serialized_value",
    ]:
        problems.append(f"aiokafka's producer._partition takes {params}")
    if "self._batches = " not in inspect.getsource(MessageAccumulator.__init__):
        problems.append("aiokafka's message accumulator no longer keeps _batches")
    if "async def _wait_on_metadata" not in inspect.getsource(AIOKafkaClient):
        problems.append("aiokafka's client has no _wait_on_metadata")
    if "fetch_max_wait_ms=" not in inspect.getsource(
        faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer
    ):
        problems.append("AIOKafkaConsumerThread._create_worker_consumer changed")
    if "self._fetch_max_wait_ms = " not in inspect.getsource(AIOKafkaConsumer.__init__):
        problems.append("aiokafka's consumer no longer keeps _fetch_max_wait_ms")
    if "self.data: MutableMapping = {}" not in inspect.getsource(MemoryStore.__post_init__):
        problems.append("the memory store no longer keeps its entries in a dict of its own")
    if "self._key_partition" not in inspect.getsource(MemoryStore.__post_init__):
        problems.append("the memory store no longer keeps _key_partition")
    if not callable(getattr(PartitionAssignor, "assigned_actives", None)):
        problems.append("PartitionAssignor.assigned_actives is gone")
    if "self.completed = " not in inspect.getsource(Recovery.__init__):
        problems.append("Recovery.completed is gone")
    if problems:
        raise FaustChanged(
            f"faust-streaming {faust.__version__} changed what the detector relies on: "
            + "; ".join(problems)
        )


def batch_consumer(
    app: faust.App,
    topics: Collection[str],
    handler: BatchHandler,
    first: Collection[str] = (),
) -> None:
    """Make `app`'s consumer (not yet created) hand each fetched batch of `topics` to
    `handler` as a whole, before anything else of that fetch; records of other topics (the
    changelogs during recovery) keep faust's own path. Records of the `first` topics that
    the consumer holds are handed over before any other: aiokafka serves its fetch buffer in
    the order the fetches came in, and a fetch of a park topic's backlog holds megabytes per
    partition, which would keep the next stages waiting until it is all processed. Call
    before the app starts."""
    names = frozenset(topics)
    ahead = frozenset(first)
    idle = asyncio.Event()
    idle.set()

    async def finish_batch(sender: Any, /, *args: Any, signal: Any = None, **kwargs: Any) -> None:
        """A rebalance does not wait for a batch the handler is still working on (faust
        waits only for its own streams): its table writes and outputs would then reach the
        changelogs after the partitions' next owner restored them. Let it finish and flush
        its sends before the partitions are given up."""
        if not idle.is_set():
            await idle.wait()
            await app.producer.flush()

    app.on_partitions_revoked.connect(finish_batch)
    transport: Any = app.transport
    base: type[Any] = transport.Consumer

    class Thread(faust_aiokafka.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            # faust has the broker hold a fetch up to 1.5 s when it finds no data. A fetch of
            # the (often idle) own topics alone, sent while the park topics' records are
            # still buffered, then keeps the next fetch of the park topics waiting that long.
            consumer._fetch_max_wait_ms = FETCH_WAIT_MS
            return consumer

    class BatchConsumer(base):  # type: ignore[misc]
        def _new_consumer_thread(self) -> Any:
            return Thread(self, loop=self.loop, beacon=self.beacon)

        async def _next_records(self, wait: float) -> tuple[Any, Any]:
            if ahead and self.flow_active and not self.app.client_only:
                active = self._get_active_partitions()
                some = {tp for tp in active if tp.topic in ahead}
                if some:
                    records = await self._getmany(active_partitions=some, timeout=0)
                    if records:
                        return records, active
            found: tuple[Any, Any] = await self._wait_next_records(wait)
            return found

        async def getmany(
            self,
            timeout: float,  # noqa: ASYNC109  (faust's signature)
        ) -> AsyncIterator[tuple[TP, Any]]:
            records, active = await self._next_records(timeout)
            if records is None or self.should_stop:
                return
            if not self.flow_active:
                # As faust does: a fetch that returns while the flow is stopped is dropped
                # and the consumer goes back to the committed offsets.
                try:
                    await self.perform_seek()
                except Exception as exc:
                    log.warning("seek while the flow was stopped failed: %r", exc)
                return
            generation = self.app.consumer_generation_id
            buffered = self._buffered_partitions
            mine: dict[TP, Sequence[Any]] = {}
            rest: dict[TP, Sequence[Any]] = {}
            read = self._read_offset
            for tp, batch in records.items():
                if not batch or not (active is None or tp in active or tp in buffered):
                    continue
                if tp.topic in names:
                    last = read[tp]
                    if last is not None and batch[0].offset < last:
                        batch = [r for r in batch if r.offset >= last]
                        if not batch:
                            continue
                    read[tp] = batch[-1].offset
                    mine[tp] = batch
                else:
                    rest[tp] = batch
            if mine:
                idle.clear()
                try:
                    await handler(mine, generation)
                except Exception as exc:
                    # faust's fetcher task would die with it and leave a worker that looks
                    # ready but processes nothing: stop the worker instead.
                    log.exception("the detector's stages failed on a batch")
                    await self.app.crash(exc)
                    raise
                finally:
                    idle.set()
            if rest:
                to_message = self._to_message
                for tp, record in self.scheduler.iterate(rest):
                    if not self.flow_active or self.app.consumer_generation_id != generation:
                        break
                    yield tp, to_message(tp, record)

    transport.Consumer = BatchConsumer


def generation(app: faust.App) -> int:
    return int(app.consumer_generation_id)


def ack(app: faust.App, tp: TP, first: int, last: int) -> None:
    """Acknowledge offsets `first`..`last` of `tp` (everything the detector was handed up to
    `last`), so faust's next commit may move past them. Offsets between the committed one and
    `first` (gaps left by compaction or transaction markers) are acknowledged too: all of them
    were read."""
    consumer: Any = app.consumer
    committed = consumer._committed_offset[tp]
    low = first if committed is None else committed
    index: set[int] = consumer._acked_index[tp]
    offsets = [o for o in range(low, last + 1) if o not in index]
    if offsets:
        index.update(offsets)
        consumer._acked[tp].extend(offsets)
        consumer._n_acked += len(offsets)


def committed_offset(app: faust.App, tp: TP) -> int | None:
    """The partition's committed offset as this worker knows it (records below it have been
    processed and their sends flushed), None before the first commit it sees."""
    consumer: Any = app.consumer
    offset: int | None = consumer._committed_offset.get(tp)
    return offset


def send(
    app: faust.App,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    partition: int | None,
    headers: list[tuple[str, bytes]] | None = None,
) -> Awaitable[Any]:
    """Hand one encoded message to faust's producer (the commit's producer flush covers it):
    a coroutine whose result is the future of the delivery. faust's `Topic.send` builds a
    pending message, a future and callbacks per message, which cost more than the encoding."""
    producer: Any = app.producer
    coro: Awaitable[Any] = producer.send(topic, key, value, partition, None, headers)
    return coro


async def send_batches(
    app: faust.App, topic: str, entries: Sequence[tuple[bytes, bytes | None, int | None]]
) -> list[Awaitable[Any]]:
    """Hand encoded messages to the producer as one record batch per partition (more where
    one fills up), built in aiokafka's C batch builder, instead of a producer call, a future
    and a batch append per message (the commit's producer flush covers them as it covers
    `send`). A message without a partition goes where the producer's partitioner puts its
    key, as `send` would. The futures of the batches' deliveries."""
    producer: Any = app.producer._ensure_producer()  # type: ignore[attr-defined]
    pending = producer._message_accumulator._batches
    if any(partition is None for _, _, partition in entries):
        await producer.client._wait_on_metadata(topic)
    by_partition: dict[int, list[tuple[bytes, bytes | None]]] = {}
    for key, value, partition in entries:
        if partition is None:
            partition = producer._partition(topic, None, key, value, key, value)
        by_partition.setdefault(partition, []).append((key, value))
    sent: list[Awaitable[Any]] = []
    for partition, messages in by_partition.items():
        if pending.get(TopicPartition(topic, partition)):
            # A batch of the partition is still waiting to go: `send_batch` would wait until
            # it has, holding up the stage; its messages join that batch instead.
            for key, value in messages:
                sent.append(await producer.send(topic, value, key=key, partition=partition))
            continue
        builder = producer.create_batch()
        for key, value in messages:
            if builder.append(timestamp=None, key=key, value=value) is None:  # full
                sent.append(await producer.send_batch(builder, topic, partition=partition))
                builder = producer.create_batch()
                if builder.append(timestamp=None, key=key, value=value) is None:
                    raise ValueError(
                        f"a message of {len(value or b'')} bytes for {topic} is larger "
                        "than a producer batch"
                    )
        sent.append(await producer.send_batch(builder, topic, partition=partition))
    return sent


def table_dict(table: Any) -> dict[str, Any]:
    """The memory store's own dict of a table's entries, for reads (the store's mapping
    methods are Python code around it; faust clears and updates it in place, never swaps it)."""
    data: dict[str, Any] = table.data.data
    return data


def table_set(table: Any, key: str, value: Any, partition: int) -> None:
    """Set an in-memory table entry without faust writing its changelog (the detector writes
    it through `send_batches`), and let the memory store drop the key when `partition` is
    revoked."""
    table.data.data[key] = value
    table.data._key_partition[key] = partition


def table_delete(table: Any, key: str) -> None:
    """Drop an in-memory table entry without faust writing its changelog."""
    table.data.data.pop(key, None)
    table.data._key_partition.pop(key, None)


def table_partitions(table: Any) -> dict[str, int]:
    """The partition of every key the memory store holds."""
    partitions: dict[str, int] = table.data._key_partition
    return partitions


def table_codecs(table: Any, key: Any, value: Any) -> None:
    """Give a table codec objects for keys and values (faust derives them from types)."""
    table.key_serializer = key
    table.value_serializer = value


def assigned_actives(app: faust.App) -> set[TP]:
    assignor: Any = app.assignor
    return set(assignor.assigned_actives())


def recovered(app: faust.App) -> bool:
    """Whether the worker has joined its group and restored its tables."""
    tables: Any = app.tables
    return not app.rebalancing and bool(tables.recovery.completed.is_set())
