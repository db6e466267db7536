"""Runs the stages of `topology.TOPOLOGY` on a faust worker, a fetched batch at a time.

The consumer hands every fetch of the detector's topics to `Runtime.on_batch` (see
`faustext.batch_consumer`). Each stage's records of that fetch are decoded in one go, given
to its handler through a `StageIO` that holds only the stage's tables and outputs, and
their results are sent on: table writes to the changelogs (the last value of each key once
per batch), the items for the next stages grouped into one message per key. Downstream
stages run first, so conclusions get out while the park topics still have a backlog.

Crash safety: a record's offset is acknowledged only once everything it caused is queued in
the producer, and faust flushes the producer before every commit; a concluding stage waits
for Kafka to acknowledge its table writes before it sends its conclusions (see
`topology.Stage.concludes`). A replay re-sends state the next stages already hold, which
they take as a repeat."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

import faust
from faust.types import TP

from parklink.detector import faustext, guard
from parklink.detector.guard import STAGE_ERROR, StagedOutputs, StagedTable
from parklink.detector.ports import Message
from parklink.detector.stages import Stages
from parklink.detector.topology import TOPOLOGY, Stage, TableSpec
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.retry import Backoff
from parklink.eventkit.serde import InvalidRecord, RegistryUnavailable, SerdeError

log = logging.getLogger(__name__)


class FaustTable(StagedTable):
    """A stage's view of one faust table: a committed write goes to the table's memory, and
    is collected for the changelog (each key's last value once per batch, or every write)."""

    def __init__(self, spec: TableSpec, table: Any, changelog: str, codec: Any) -> None:
        super().__init__(faustext.table_dict(table))
        self.spec = spec
        self.table = table
        self.changelog = changelog
        self.codec = codec
        self.writes: dict[str, tuple[Any, int]] = {}
        self.every: list[tuple[str, Any, int]] = []

    def _store(self, key: str, value: Any, partition: int) -> None:
        if value is None:
            faustext.table_delete(self.table, key)
        else:
            faustext.table_set(self.table, key, value, partition)

    def _partitions(self) -> Mapping[str, int]:
        return faustext.table_partitions(self.table)

    def _logged(self, writes: list[tuple[str, Any, int]]) -> None:
        if self.spec.changelog_is_alerts:
            # No tombstone on the alerts topic: it keeps the latest state of every alert
            # for the console.
            writes = [w for w in writes if w[1] is not None]
        if self.spec.every_write:
            self.every += writes
        else:
            last = self.writes
            for key, value, partition in writes:
                last[key] = (value, partition)

    def drain(self) -> list[tuple[str, Any, int]]:
        out = self.every or [(k, v, p) for k, (v, p) in self.writes.items()]
        self.every, self.writes = [], {}
        return out


class Output:
    """One of the detector's own topics as a stage output."""

    def __init__(self, name: str, topic: str, codec: Any) -> None:
        self.name = name
        self.topic = topic
        self.codec = codec


class FaustStageIO(StagedOutputs):
    def __init__(
        self,
        app: faust.App,
        stage: Stage,
        stages: Stages,
        tables: dict[str, FaustTable],
        outputs: dict[str, Output],
        input_topic: str,
    ) -> None:
        super().__init__(outputs, stage.name)
        self._app = app
        self.stage = stage
        self._stages = stages
        self.tables = tables
        self.outputs = outputs
        self.input_topic = input_topic
        self.cache: dict[str, Any] = {}

    @property
    def stages(self) -> Stages:
        return self._stages

    def now(self) -> int:
        return self._stages.clock.now()

    def table(self, name: str) -> FaustTable:
        return self.tables[name]

    def committed(self, partition: int) -> int | None:
        return faustext.committed_offset(self._app, TP(self.input_topic, partition))

    def commit(self) -> None:
        for table in self.tables.values():
            table.commit()
        super().commit()

    def rollback(self) -> None:
        for table in self.tables.values():
            table.rollback()
        super().rollback()
        self.cache.clear()


class StageRunner:
    """One stage on the worker: decode, handle, write, pass on, acknowledge."""

    def __init__(
        self,
        runtime: Runtime,
        stage: Stage,
        io: FaustStageIO,
        decoder: Any,
    ) -> None:
        self.runtime = runtime
        self.stage = stage
        self.io = io
        self.decoder = decoder
        self._raw: dict[tuple[int, int], Any] = {}  # (partition, offset) -> record of a batch
        metrics = runtime.metrics
        self.events_in = metrics.events_in.labels(topic=stage.input) if stage.source else None
        self.observe = metrics.process_seconds.labels(stage=stage.name).observe

    async def _decode_sources(self, tp: TP, records: Sequence[Any], out: list[Message]) -> None:
        deserialize = self.decoder.deserialize
        topic, partition = tp.topic, tp.partition
        at = self.io.stages.clock.at  # broker time -> the detector's time (eventkit/clock.py)
        for r in records:
            try:
                try:
                    event = deserialize(r.value, topic=topic, partition=partition, offset=r.offset)
                except RegistryUnavailable as exc:
                    event = await self._decode_once_the_registry_answers(tp, r, exc)
            except SerdeError as exc:
                await self.runtime.dead_letter(self.stage.input, r, exc.reason, str(exc))
                continue
            self._raw[partition, r.offset] = r
            out.append(Message("", event, partition, r.offset, at(r.timestamp)))

    async def _decode_once_the_registry_answers(
        self, tp: TP, record: Any, problem: RegistryUnavailable
    ) -> Any:
        """Decode `record` once the registry can say what its schema id is: until then the
        stage waits (`eventkit.retry.Backoff`: jittered, exponentially longer, capped),
        with nothing of this batch acknowledged, so no commit moves past the record. A
        record is set aside only when the registry answers that its id is unknown (or the
        record turns out to be bad), never while it cannot answer. The retries run in a
        thread: a registry that hangs must not hold up the worker's web endpoints."""
        pauses = Backoff()
        waited, attempts = 0.0, 0
        while True:
            attempts += 1
            if attempts == 1 or attempts % 10 == 0:
                log.warning(
                    "stage %s waits for the schema registry (%d tries, %.0f s so far) before "
                    "%s[%d]@%d: %s",
                    self.stage.name,
                    attempts,
                    waited,
                    tp.topic,
                    tp.partition,
                    record.offset,
                    problem,
                )
            pause = pauses.pause()
            await asyncio.sleep(pause)
            waited += pause
            try:
                event = await asyncio.to_thread(
                    self.decoder.deserialize,
                    record.value,
                    topic=tp.topic,
                    partition=tp.partition,
                    offset=record.offset,
                )
            except RegistryUnavailable as exc:
                problem = exc
                continue
            log.info(
                "stage %s: the schema registry answered after %.0f s (%d tries)",
                self.stage.name,
                waited,
                attempts,
            )
            return event

    async def _decode_items(self, tp: TP, records: Sequence[Any], out: list[Message]) -> None:
        loads = self.decoder.loads
        partition = tp.partition
        at = self.io.stages.clock.at
        for r in records:
            try:
                item = Message(r.key.decode(), loads(r.value), partition, r.offset, at(r.timestamp))
            except (ValueError, AttributeError) as exc:  # not what a stage wrote
                problem = InvalidRecord(
                    f"not a message of the {self.stage.input} stage: {exc}",
                    topic=tp.topic,
                    partition=partition,
                    offset=r.offset,
                )
                await self.runtime.dead_letter(self.stage.input, r, problem.reason, str(problem))
                continue
            self._raw[partition, r.offset] = r
            out.append(item)

    async def run(self, parts: list[tuple[TP, Sequence[Any]]], generation: int) -> None:
        started = time.perf_counter()
        batch: list[Message] = []
        count = 0
        for tp, records in parts:
            count += len(records)
            if self.stage.source:
                await self._decode_sources(tp, records, batch)
            else:
                await self._decode_items(tp, records, batch)
        if self.events_in is not None:
            self.events_in.inc(count)
        io, app = self.io, self.runtime.app
        failed = guard.run(self.stage, io, batch) if batch else []
        for msg, reason, message in io.rejected:
            record = self._raw[msg.partition, msg.offset]
            await self.runtime.dead_letter(self.stage.input, record, reason, message)
            self.runtime.refused(msg.value, reason)
        io.rejected.clear()
        for msg, message in failed:
            record = self._raw[msg.partition, msg.offset]
            await self.runtime.dead_letter(self.stage.input, record, STAGE_ERROR, message)
        self._raw.clear()
        pending: list[Any] = []
        for table in io.tables.values():
            writes = table.drain()
            if not writes:
                continue
            dumps = table.codec.dumps
            entries = [
                (
                    key.encode(),
                    None if value is None else dumps(value),
                    partition,
                )  # None: a tombstone
                for key, value, partition in writes
            ]
            pending += await faustext.send_batches(app, table.changelog, entries)
            if table.spec.changelog_is_alerts:
                for _, value, _ in writes:
                    if value is not None:
                        self.runtime.emitted(value)
        if self.stage.concludes:
            for fut in pending:
                await fut
        by_output: dict[str, list[tuple[bytes, bytes | None, int | None]]] = {}
        for (name, key), items in io.outbox.items():
            dumps = io.outputs[name].codec.dumps
            by_output.setdefault(name, []).append((key.encode(), dumps(tuple(items)), None))
        io.outbox.clear()
        for name, messages in by_output.items():
            await faustext.send_batches(app, io.outputs[name].topic, messages)
        if faustext.generation(app) == generation:
            for tp, records in parts:
                faustext.ack(app, tp, records[0].offset, records[-1].offset)
        if count and self.stage.source:
            self.observe((time.perf_counter() - started) / count)


class Runtime:
    """Dispatches fetched batches to the stage runners, downstream stages first."""

    def __init__(self, app: faust.App, metrics: Any, dlq_topic: str) -> None:
        self.app = app
        self.metrics = metrics
        self.dlq_topic = dlq_topic
        self.runners: dict[str, StageRunner] = {}
        self._order: list[str] = [s.name for s in reversed(TOPOLOGY)]
        self._by_topic: dict[str, str] = {}

    def add(self, runner: StageRunner, topic: str) -> None:
        self.runners[runner.stage.name] = runner
        self._by_topic[topic] = runner.stage.name

    @property
    def topics(self) -> list[str]:
        return list(self._by_topic)

    @property
    def downstream(self) -> list[str]:
        """The detector's own topics (every input but the park topics)."""
        return [t for t, name in self._by_topic.items() if not self.runners[name].stage.source]

    def reset_caches(self) -> None:
        """The tables were restored (after a start or a rebalance): drop what was derived."""
        for runner in self.runners.values():
            runner.io.cache.clear()

    async def on_batch(self, records: faustext.Records, generation: int) -> None:
        by_stage: dict[str, list[tuple[TP, Sequence[Any]]]] = {}
        for tp, batch in records.items():
            by_stage.setdefault(self._by_topic[tp.topic], []).append((tp, batch))
        for name in self._order:
            parts = by_stage.get(name)
            if parts:
                await self.runners[name].run(parts, generation)

    def emitted(self, alert: DisruptionAlert) -> None:
        self.metrics.alerts_out.labels(
            type=alert.type, severity=alert.severity.value, status=alert.status.value
        ).inc()
        log.info(
            "%s %s %s (%s, %d shipments)",
            alert.status.value,
            alert.severity.value,
            alert.alert_id,
            alert.updated_at.isoformat(),
            len(alert.impacted_shipments),
        )

    async def dead_letter(self, role: str, record: Any, reason: str, message: str) -> None:
        """Set a record aside with where it came from and why (undecodable, invalid,
        refused by the admission rules, or a stage raised on it)."""
        headers = [
            ("topic", record.topic.encode()),
            ("partition", str(record.partition).encode()),
            ("offset", str(record.offset).encode()),
            ("error", reason.encode()),
            ("error_message", message.encode()[:2000]),
        ]
        await faustext.send(self.app, self.dlq_topic, record.key, record.value, None, headers)
        self.metrics.dlq.labels(topic=role, reason=reason).inc()
        log.warning(
            "dead-lettered %s[%d]@%d (%s): %s",
            record.topic,
            record.partition,
            record.offset,
            reason,
            message,
        )

    def refused(self, event: Any, reason: str) -> None:
        """Count a park's event that the admission rules refused, by its source park."""
        park = getattr(event, "source_park", "unknown")
        self.metrics.refused.labels(park=park, reason=reason).inc()

    def tick_sends(self, topic: str, codec: Any, item: Any) -> list[Awaitable[Any]]:
        """A tick for every partition of `topic` this worker owns."""
        value = codec.dumps((item,))
        return [
            faustext.send(self.app, topic, b"", value, tp.partition)
            for tp in faustext.assigned_actives(self.app)
            if tp.topic == topic
        ]
