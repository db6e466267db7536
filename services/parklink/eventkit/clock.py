"""A clock that can run faster than the real one: the detector's time (what it takes a
record's broker time and the wall clock to be, for admission, retention sweeps, silence and
its clock ticks) and the simulator's, which must agree with it when both are sped up.

By default it is the real time (identity). A benchmark or a test can speed it up
(PARKLINK_DETECTOR_TIME_SPEED, with PARKLINK_DETECTOR_TIME_ORIGIN): from the origin on, a
second of wall time is `speed` seconds of detector time, so a soak can play months of
traffic in minutes and still see entities age and leave. Broker times and the wall clock
go through the same mapping, so a sped-up detector and a simulator sped up the same way
(same origin and speed) agree on what "now" is. An operator setting for benchmarks and
tests only: nothing a park sends moves it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

MAX_SPEED = 10_000_000.0
"""A bound on the speed-up (ten million times: a year in about three wall seconds)."""


@dataclass(frozen=True, slots=True)
class ScaledClock:
    """Maps wall times (ms since the epoch: a record's broker time, the wall clock) to
    detector times: `origin + (wall - origin) * speed`. Speed 1 is the identity."""

    speed: float = 1.0
    origin_ms: int = 0
    wall_ms: Callable[[], int] = lambda: time.time_ns() // 1_000_000

    def __post_init__(self) -> None:
        if not 0 < self.speed <= MAX_SPEED:
            raise ValueError(f"the detector's time speed must be in (0, {MAX_SPEED:g}]")

    @classmethod
    def sped_up(cls, speed: float, origin: datetime | None) -> ScaledClock:
        """The clock of the settings: a speed other than 1 needs its origin, so every worker
        and every restart of one maps times the same way."""
        if speed == 1:
            return cls()
        if origin is None:
            raise ValueError("a detector time speed other than 1 needs a time origin")
        if origin.tzinfo is None:
            raise ValueError("the detector's time origin needs a time zone")
        return cls(speed=speed, origin_ms=int(origin.timestamp() * 1000))

    @property
    def real(self) -> bool:
        return self.speed == 1

    def at(self, wall_ms: int) -> int:
        """The detector time of a wall time (a record's broker time)."""
        if self.speed == 1:
            return wall_ms
        return self.origin_ms + int((wall_ms - self.origin_ms) * self.speed)

    def now(self) -> int:
        """The detector time now (ms)."""
        return self.at(self.wall_ms())

    def wall_seconds(self, seconds: float, floor: float = 0.0) -> float:
        """How many wall seconds `seconds` of detector time take (for timers), at least
        `floor` (a sped-up timer would otherwise fire thousands of times a second)."""
        return max(seconds / self.speed, floor)
