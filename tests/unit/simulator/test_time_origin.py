"""`--time-origin`: the simulated clock is the network's time (a soak against a detector
sped up the same way): events carry the simulated time, and the clock is the detector's
mapping of the wall clock, so both agree on "now"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parklink.eventkit.clock import ScaledClock
from parklink.eventkit.errors import ParkLinkError
from parklink.simulator.app import simulated_clock
from parklink.simulator.config import SimulatorSettings
from parklink.simulator.world import World, WorldConfig

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
ORIGIN = datetime(2026, 12, 1, tzinfo=UTC)


def test_with_simulated_event_times_events_carry_the_simulated_time() -> None:
    speed = 86_400.0  # a simulated day per wall second
    sped = World(WorldConfig(seed=5, start=START, speed=speed, simulated_event_time=True))
    plain = World(WorldConfig(seed=5, start=START, speed=speed))
    until = sped.sim_time(10)  # ten simulated days
    emitted = sped.advance(until)
    assert emitted
    # (event times are kept to the millisecond)
    assert all(abs(e.event.event_time - e.at) < timedelta(milliseconds=1) for e in emitted)
    assert max(e.event.event_time for e in emitted) > START + timedelta(days=9)
    # The same world otherwise, stamped with the wall moments instead.
    wall = plain.advance(until)
    assert [e.at for e in wall] == [e.at for e in emitted]
    assert max(e.event.event_time for e in wall) < START + timedelta(seconds=11)


def test_the_simulated_clock_is_the_detectors_sped_up_clock() -> None:
    settings = SimulatorSettings(
        simulator_direct=True, simulator_speed=25_920.0, simulator_time_origin=ORIGIN
    )
    clock = simulated_clock(settings)
    assert clock is not None
    assert clock == ScaledClock.sped_up(25_920.0, ORIGIN)
    origin_ms = int(ORIGIN.timestamp() * 1000)
    assert clock.at(origin_ms + 1000) == origin_ms + 25_920_000
    assert simulated_clock(SimulatorSettings(simulator_direct=True)) is None


def test_a_time_origin_needs_direct_publishing_and_a_zone() -> None:
    with pytest.raises(ParkLinkError, match="needs --direct"):
        simulated_clock(SimulatorSettings(simulator_speed=100.0, simulator_time_origin=ORIGIN))
    naive = SimulatorSettings(
        simulator_direct=True, simulator_speed=100.0, simulator_time_origin=datetime(2026, 12, 1)
    )
    with pytest.raises(ParkLinkError, match="time zone"):
        simulated_clock(naive)
