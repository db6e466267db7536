"""What a stage sees of the world: the messages of its input, its own tables and the outputs
it may send to. The faust worker (`app.py`) and the in-memory `Engine` (`engine.py`) each
implement these for every stage of `topology.TOPOLOGY`; a stage never sees either of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from parklink.detector.stages import Stages


@dataclass(frozen=True, slots=True)
class Message:
    """One input message of a stage. For a park topic `value` is the validated event; for
    one of the detector's own topics it is the tuple of items one batch sent to `key`."""

    key: str
    value: Any
    partition: int
    offset: int
    timestamp: int  # ms, the broker's time of the record


class Table(Protocol):
    """One of the stage's state tables: reads see the stage's own writes at once."""

    def get(self, key: str) -> Any | None: ...

    def put(self, key: str, value: Any, partition: int) -> None: ...

    def items(self) -> Iterable[tuple[str, Any]]: ...

    def entries(self) -> Iterable[tuple[str, Any, int]]:
        """(key, value, partition) of every entry this worker holds."""

    def delete(self, key: str, partition: int) -> None:
        """Drop an entry (a tombstone on its changelog; see rules/retention.py)."""


class StageIO(Protocol):
    """The narrow interface a stage runs against."""

    @property
    def stages(self) -> Stages:
        """The pure stage functions with the thresholds."""

    @property
    def cache(self) -> dict[str, Any]:
        """Worker memory derived from the stage's tables; emptied when they are restored."""

    def now(self) -> int:
        """Wall-clock time in ms."""

    def table(self, name: str) -> Table:
        """One of the tables the stage declares."""

    def send(self, output: str, key: str, item: Any) -> None:
        """Pass an item on to one of the stage's declared outputs, keyed by `key`."""

    def committed(self, partition: int) -> int | None:
        """The committed offset of the stage's input partition, if known."""

    def reject(self, msg: Message, reason: str, message: str) -> None:
        """Set an input record aside (the dead-letter topic) with why: it changes nothing."""
