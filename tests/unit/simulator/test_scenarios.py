from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from unit.simulator import alert_conditions as rules

from parklink.eventkit.contracts import CapacityEvent
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.parties import party_problem
from parklink.simulator.scenarios import (
    ScenarioOptions,
    ScenarioSpec,
    parse_spec,
    schedule,
    trigger,
)
from parklink.simulator.world import Emission, World, WorldConfig

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
OPTIONS = ScenarioOptions(offline_s=60)


def world(seed: int = 3) -> World:
    return World(WorldConfig(seed=seed, start=START))


def test_parse_spec() -> None:
    assert parse_spec("border-jam") == ScenarioSpec("border-jam", 0.0, None)
    assert parse_spec("park-offline@5/900") == ScenarioSpec("park-offline", 5.0, 900.0)
    for bad in ("nonsense", "border-jam@x", "border-jam@5/0", ""):
        with pytest.raises(ParkLinkError):
            parse_spec(bad)


def test_border_jam_delays_four_or_more_shipments_of_one_corridor() -> None:
    w = world()
    emitted: list[Emission] = w.advance(w.sim_time(10))
    injection = trigger(w, "border-jam", w.now, OPTIONS)
    emitted += w.advance(w.now + timedelta(hours=7))
    late = rules.delayed(emitted)
    on_corridor = [s for s in late.values() if s.corridor == injection.target]
    assert len(on_corridor) >= 5  # SHIPMENT_DELAY each; CORRIDOR_CONGESTION, CRITICAL at 5
    assert any(
        s.estimated_arrival - s.planned_arrival > timedelta(hours=72)  # type: ignore[operator]
        for s in on_corridor
    )
    assert injection.until is not None
    emitted += w.advance(injection.until + timedelta(hours=1))
    assert [s for s in rules.delayed(emitted).values() if s.corridor == injection.target] == []


def test_capacity_outage_drops_capacity_below_open_demand() -> None:
    w = world()
    emitted: list[Emission] = w.advance(w.sim_time(30))
    injection = trigger(w, "capacity-outage", w.now, OPTIONS)
    emitted += w.advance(w.now + timedelta(hours=3))
    key = injection.target
    before, after = rules.drops(emitted)[key]
    assert after < 0.4 * before  # CAPACITY_DROP, CRITICAL
    demand, latest = rules.shortfalls(emitted)[key]
    assert demand > latest.actual_capacity  # CAPACITY_SHORTFALL against open orders
    assert latest.maximum_capacity is not None and demand > latest.maximum_capacity
    assert injection.until is not None
    emitted += w.advance(injection.until + timedelta(minutes=1))
    restored = max(rules.declarations(emitted)[key], key=lambda d: d.event_time)
    assert restored.actual_capacity == before


def test_demand_surge_orders_more_than_the_supplier_can_make() -> None:
    w = world()
    emitted: list[Emission] = w.advance(w.sim_time(30))
    injection = trigger(w, "demand-surge", w.now, OPTIONS)
    emitted += w.advance(w.now + timedelta(hours=3))
    demand, latest = rules.shortfalls(emitted)[injection.target]
    assert latest.maximum_capacity is not None and demand > latest.maximum_capacity
    others = {
        e.event.park_id
        for e in emitted
        if isinstance(e.event, CapacityEvent)
        and e.event.category == latest.category
        and e.event.park_id != latest.park_id
    }
    assert others  # someone has spare capacity to name in the alert


def test_park_offline_holds_its_events_and_sends_them_late() -> None:
    w = world()
    w.advance(w.sim_time(10))
    injection = trigger(w, "park-offline", w.now, OPTIONS)
    assert injection.until == w.now + timedelta(seconds=60 * w.speed)
    during = w.advance(injection.until - timedelta(seconds=1))
    assert during and injection.target not in {e.park for e in during}
    after = w.advance(injection.until + timedelta(seconds=1))
    late = [e for e in after if e.park == injection.target]
    assert late
    assert min(e.event.event_time for e in late) < w.wall_time(injection.until)


def test_scheduled_scenarios_are_deterministic_and_repeat_with_other_targets() -> None:
    def injected(seed: int) -> list[tuple[str, str]]:
        w = world(seed)
        schedule(w, parse_spec("border-jam@5/60"), OPTIONS)
        schedule(w, parse_spec("capacity-outage@5/60"), OPTIONS)
        w.advance(w.sim_time(250))
        return [(i.scenario, i.target) for i in w.injections]

    first = injected(11)
    assert first == injected(11)
    assert len(first) == 10
    assert first[0] == ("border-jam", "QD-KHR-ALA-RAIL")


def test_every_event_of_every_scenario_is_its_source_parks_to_publish() -> None:
    w = world()
    emitted: list[Emission] = w.advance(w.sim_time(30))
    for name in ("border-jam", "capacity-outage", "demand-surge", "park-offline"):
        trigger(w, name, w.now, OPTIONS)
    emitted += w.advance(w.now + timedelta(hours=30))
    assert {e.kind for e in emitted} == {"orders", "shipments", "capacity"}
    broken = [(e.kind, e.event.source_park, party_problem(e.event)) for e in emitted]
    assert [b for b in broken if b[2] is not None] == []
    statuses = {(e.kind, str(getattr(e.event, "status", ""))) for e in emitted}
    assert ("orders", "FULFILLED") in statuses
    assert ("shipments", "DELIVERED") in statuses
