"""A stage's batch is all or nothing, and one record that makes a stage raise is set aside
instead of stopping the stream.

A handler's table writes, outputs and rejections are staged while it runs (its own reads see
its writes at once) and reach the tables only when the whole batch went through. When the
handler raises, everything it staged is discarded, the worker memory derived from its tables
is dropped, and the batch is run again one record at a time: the records that raise on their
own go to the DLQ with the reason `stage-error`, the stage and the exception; every other
record counts exactly as it would have. The faust worker (`runtime.py`) and the in-memory
`Engine` both run their stages through `run`."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from parklink.detector.ports import Message, StageIO

if TYPE_CHECKING:
    from parklink.detector.topology import Stage

log = logging.getLogger(__name__)

STAGE_ERROR = "stage-error"
"""The DLQ reason of a record that made a stage raise."""


class UndeclaredOutput(KeyError):
    """A handler sent to an output its stage does not declare: a bug of the topology, not of
    a record, so it is never dead-lettered."""


class Staged(StageIO, Protocol):
    def commit(self) -> None:
        """Make what the handler staged since the last commit take effect."""

    def rollback(self) -> None:
        """Discard what the handler staged since the last commit, and the worker memory
        derived from the tables (`cache`)."""


def describe(stage: str, exc: BaseException) -> str:
    return f"stage {stage} raised {type(exc).__name__}: {exc}"[:2000]


def run(stage: Stage, io: Staged, batch: Sequence[Message]) -> list[tuple[Message, str]]:
    """Run `stage`'s handler on `batch` through `io`; returns the records that made it raise
    (with what it raised), whose effects are discarded."""
    try:
        stage.handle(io, batch)
    except UndeclaredOutput:
        raise
    except Exception as exc:
        io.rollback()
        if len(batch) == 1:
            log.exception("stage %s failed on one record", stage.name)
            return [(batch[0], describe(stage.name, exc))]
        log.warning(
            "stage %s raised %s on a batch of %d; running it record by record",
            stage.name,
            type(exc).__name__,
            len(batch),
        )
        return _one_by_one(stage, io, batch)
    io.commit()
    return []


def _one_by_one(stage: Stage, io: Staged, batch: Sequence[Message]) -> list[tuple[Message, str]]:
    failed: list[tuple[Message, str]] = []
    for msg in batch:
        try:
            stage.handle(io, [msg])
        except UndeclaredOutput:
            raise
        except Exception as exc:
            io.rollback()
            log.exception(
                "stage %s failed on partition %d offset %d", stage.name, msg.partition, msg.offset
            )
            failed.append((msg, describe(stage.name, exc)))
        else:
            io.commit()
    return failed


class StagedTable:
    """A stage's table: reads see the stage's own staged writes and deletes at once; `commit`
    stores them (`_store`, value None for a delete) and hands every write, in order, to
    `_logged` (the changelog; None is a tombstone)."""

    def __init__(self, data: MutableMapping[str, Any]) -> None:
        self.data = data
        self._staged: dict[str, tuple[Any, int]] = {}
        self._log: list[tuple[str, Any, int]] = []

    def get(self, key: str) -> Any | None:
        staged = self._staged.get(key)
        if staged is not None:
            return staged[0]
        return self.data.get(key)

    def put(self, key: str, value: Any, partition: int) -> None:
        self._staged[key] = (value, partition)
        self._log.append((key, value, partition))

    def delete(self, key: str, partition: int) -> None:
        """Drop the entry (a tombstone on its changelog; see rules/retention.py)."""
        self._staged[key] = (None, partition)
        self._log.append((key, None, partition))

    def entries(self) -> Iterable[tuple[str, Any, int]]:
        """(key, value, partition) of every entry, the staged writes included."""
        partitions = self._partitions()
        merged = {k: (v, partitions.get(k, 0)) for k, v in self.data.items()}
        for key, (value, partition) in self._staged.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = (value, partition)
        return [(k, v, p) for k, (v, p) in merged.items()]

    def items(self) -> Iterable[tuple[str, Any]]:
        if not self._staged:
            return list(self.data.items())
        return [(k, v) for k, v, _ in self.entries()]

    def commit(self) -> None:
        if not self._log:
            return
        for key, (value, partition) in self._staged.items():
            self._store(key, value, partition)
        self._logged(self._log)
        self._staged, self._log = {}, []

    def rollback(self) -> None:
        self._staged, self._log = {}, []

    def _store(self, key: str, value: Any, partition: int) -> None:
        if value is None:
            self.data.pop(key, None)
        else:
            self.data[key] = value

    def _partitions(self) -> Mapping[str, int]:
        """The partition of each stored key."""
        return {}

    def _logged(self, writes: list[tuple[str, Any, int]]) -> None:
        """Every committed write (key, value or None, partition), in order."""


class StagedOutputs:
    """A stage's outputs and rejections, staged like its tables: `outbox` holds, per
    (output, key), the items of committed records in order; `rejected` their rejections."""

    def __init__(self, declared: Iterable[str], stage: str) -> None:
        self._declared = frozenset(declared)
        self._stage = stage
        self.outbox: dict[tuple[str, str], list[Any]] = {}
        self.rejected: list[tuple[Message, str, str]] = []
        self._sends: list[tuple[tuple[str, str], Any]] = []
        self._rejects: list[tuple[Message, str, str]] = []

    def send(self, output: str, key: str, item: Any) -> None:
        if output not in self._declared:
            raise UndeclaredOutput(f"stage {self._stage} does not send to {output}")
        self._sends.append(((output, key), item))

    def reject(self, msg: Message, reason: str, message: str) -> None:
        self._rejects.append((msg, reason, message))

    def commit(self) -> None:
        outbox = self.outbox
        for where, item in self._sends:
            items = outbox.get(where)
            if items is None:
                outbox[where] = [item]
            else:
                items.append(item)
        self.rejected += self._rejects
        self._sends, self._rejects = [], []

    def rollback(self) -> None:
        self._sends, self._rejects = [], []
