"""The detector without Kafka: every stage of `topology.TOPOLOGY` in one process, with dicts
for its tables and lists for its topics. Unit tests drive it; the faust worker runs the same
stages from the same declaration."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from parklink.detector import guard
from parklink.detector.events import millis, of_model
from parklink.detector.guard import STAGE_ERROR, StagedOutputs, StagedTable
from parklink.detector.ports import Message
from parklink.detector.stages import Stages
from parklink.detector.state import ParkMessage
from parklink.detector.thresholds import Thresholds
from parklink.detector.topology import TABLES, TICKS, TOPICS, TOPOLOGY, Stage
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import PARK_EVENT_MODELS, DisruptionAlert, ParkEvent

ROLES = {model: role for role, model in PARK_EVENT_MODELS.items()}


class _Table(StagedTable):
    data: dict[str, Any]

    def __init__(self, data: dict[str, Any], emitted: list[Any] | None) -> None:
        super().__init__(data)
        self.emitted = emitted
        self.partitions: dict[str, int] = {}
        self.deleted: list[str] = []
        """Keys deleted, in order (a tombstone on the worker's changelog)."""

    def _store(self, key: str, value: Any, partition: int) -> None:
        if value is None:
            if self.data.pop(key, None) is not None:
                self.partitions.pop(key, None)
                self.deleted.append(key)
        else:
            self.data[key] = value
            self.partitions[key] = partition

    def _partitions(self) -> Mapping[str, int]:
        return self.partitions

    def _logged(self, writes: list[tuple[str, Any, int]]) -> None:
        if self.emitted is not None:
            self.emitted += [value for _, value, _ in writes if value is not None]


class _StageIO(StagedOutputs):
    """A stage's view of the engine: only its declared tables and outputs."""

    def __init__(self, engine: Engine, stage: Stage) -> None:
        super().__init__(stage.outputs, stage.name)
        self.engine = engine
        self.stage = stage
        self._tables = {name: engine.tables[name] for name in stage.tables}
        self.cache: dict[str, Any] = {}

    @property
    def stages(self) -> Stages:
        return self.engine.stages

    def now(self) -> int:
        return self.engine.clock

    def table(self, name: str) -> _Table:
        return self._tables[name]

    def committed(self, partition: int) -> int | None:
        return None

    def commit(self) -> None:
        for table in self._tables.values():
            table.commit()
        super().commit()

    def rollback(self) -> None:
        for table in self._tables.values():
            table.rollback()
        super().rollback()
        self.cache.clear()


class Engine:
    def __init__(self, limits: Thresholds, bounds: TimeBounds | None = None) -> None:
        self.stages = Stages(limits, bounds)
        self.clock = 0
        self.refused: list[tuple[Any, str, str]] = []
        """What the stages set aside: (input, reason, message); reason `stage-error` for a
        record that made a stage raise."""
        self._emitted: list[DisruptionAlert] = []
        self.tables = {
            spec.name: _Table({}, self._emitted if spec.changelog_is_alerts else None)
            for spec in TABLES
        }
        self._io = {stage.name: _StageIO(self, stage) for stage in TOPOLOGY}
        self._reads = {stage.input: stage for stage in TOPOLOGY}
        self._pending: dict[str, list[Message]] = {t.name: [] for t in TOPICS}
        self._offsets = dict.fromkeys(PARK_EVENT_MODELS, 0)

    @property
    def alerts(self) -> dict[str, DisruptionAlert]:
        return self.tables["emitted"].data

    def process(
        self, event: ParkEvent, now: datetime, published: datetime | None = None
    ) -> list[DisruptionAlert]:
        """Feed one event; `published` is its Kafka timestamp (defaults to `now`)."""
        self.clock = millis(now)
        role = ROLES[type(event)]
        offset = self._offsets[role]
        self._offsets[role] += 1
        msg = Message(event.key(), of_model(event), 0, offset, millis(published or now))
        self._run(self._reads[role], [msg])
        return self._drain()

    def tick(self, now: datetime) -> list[DisruptionAlert]:
        """A wall-clock tick of the park stage."""
        self.clock = millis(now)
        self._pending[TICKS].append(Message("", (ParkMessage(tick=self.clock),), 0, 0, self.clock))
        return self._drain()

    def _run(self, stage: Stage, batch: list[Message]) -> None:
        io = self._io[stage.name]
        failed = guard.run(stage, io, batch)
        self.refused += [(msg.value, reason, message) for msg, reason, message in io.rejected]
        self.refused += [(msg.value, STAGE_ERROR, message) for msg, message in failed]
        io.rejected.clear()
        for (output, key), items in io.outbox.items():
            self._pending[output].append(Message(key, tuple(items), 0, 0, self.clock))
        io.outbox.clear()

    def _drain(self) -> list[DisruptionAlert]:
        while any(self._pending.values()):
            for stage in TOPOLOGY:
                batch = self._pending.get(stage.input)
                if batch:
                    self._pending[stage.input] = []
                    self._run(stage, batch)
        out = list(self._emitted)
        self._emitted.clear()
        return out

    def firing(self) -> dict[str, DisruptionAlert]:
        return {k: a for k, a in self.alerts.items() if a.status.value == "FIRING"}
