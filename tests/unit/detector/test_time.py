"""The detector's time (eventkit/clock.py): the real time by default; sped up from an origin
for a benchmark, broker times and the wall clock alike, and only with an origin."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parklink.detector.stages import Stages
from parklink.detector.thresholds import Thresholds, load_thresholds
from parklink.eventkit.clock import ScaledClock
from parklink.eventkit.errors import ParkLinkError

ORIGIN = datetime(2026, 12, 1, tzinfo=UTC)
ORIGIN_MS = int(ORIGIN.timestamp() * 1000)


def test_by_default_the_detector_time_is_the_real_time() -> None:
    clock = Thresholds().clock()
    assert clock.real
    assert clock.at(1_234_567) == 1_234_567
    assert ScaledClock(wall_ms=lambda: 42).now() == 42
    assert Stages(Thresholds()).clock.real


def test_a_sped_up_clock_runs_from_its_origin() -> None:
    clock = ScaledClock.sped_up(1000.0, ORIGIN)
    assert clock.at(ORIGIN_MS) == ORIGIN_MS
    assert clock.at(ORIGIN_MS + 1_000) == ORIGIN_MS + 1_000_000  # a wall second: 1000 s
    assert clock.at(ORIGIN_MS - 10) == ORIGIN_MS - 10_000
    ticking = ScaledClock(speed=1000.0, origin_ms=ORIGIN_MS, wall_ms=lambda: ORIGIN_MS + 86)
    assert ticking.now() == ORIGIN_MS + 86_000


def test_timer_periods_are_wall_seconds_with_a_floor() -> None:
    clock = ScaledClock.sped_up(3600.0, ORIGIN)
    assert clock.wall_seconds(7200.0) == 2.0
    assert clock.wall_seconds(60.0, floor=1.0) == 1.0
    assert ScaledClock().wall_seconds(60.0, floor=1.0) == 60.0


def test_a_sped_up_clock_needs_an_origin_with_a_zone() -> None:
    with pytest.raises(ValueError, match="needs PARKLINK_DETECTOR_TIME_ORIGIN"):
        Thresholds(detector_time_speed=10.0)
    with pytest.raises(ValueError, match="time zone"):
        Thresholds(detector_time_speed=10.0, detector_time_origin=datetime(2026, 12, 1))
    with pytest.raises(ValueError, match="speed"):
        ScaledClock(speed=0.0)


def test_the_clock_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARKLINK_DETECTOR_TIME_SPEED", "25920")
    monkeypatch.setenv("PARKLINK_DETECTOR_TIME_ORIGIN", ORIGIN.isoformat())
    clock = load_thresholds().clock()
    assert clock.speed == 25920.0 and clock.origin_ms == ORIGIN_MS
    monkeypatch.delenv("PARKLINK_DETECTOR_TIME_ORIGIN")
    with pytest.raises(ParkLinkError, match="PARKLINK_DETECTOR_TIME_ORIGIN"):
        load_thresholds()
