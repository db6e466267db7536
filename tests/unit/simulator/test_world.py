from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from unit.simulator import alert_conditions as rules

from parklink.eventkit.contracts import (
    PARK_ID_PATTERN,
    CapacityEvent,
    OrderEvent,
    ShipmentEvent,
    ShipmentStatus,
    capacity_key,
)
from parklink.simulator.geography import CORRIDORS, PARKS, PARKS_BY_ID
from parklink.simulator.world import World, WorldConfig, monday, name_uuid

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def world(seed: int = 7, **kw: object) -> World:
    return World(WorldConfig(seed=seed, start=START, **kw))  # type: ignore[arg-type]


def run(w: World, wall_s: float) -> list:  # type: ignore[type-arg]
    return w.advance(w.sim_time(wall_s))


def test_same_seed_same_world() -> None:
    a = [e.event.to_json() for e in run(world(), 120)]
    b = [e.event.to_json() for e in run(world(), 120)]
    assert a == b
    assert a != [e.event.to_json() for e in run(world(seed=8), 120)]


def test_advancing_in_steps_changes_nothing() -> None:
    whole = [e.event.to_json() for e in run(world(), 90)]
    w = world()
    stepped = []
    for s in range(1, 91):
        stepped += [e.event.to_json() for e in run(w, s)]
    assert stepped == whole


def test_advancing_with_a_limit_stops_early_and_changes_nothing() -> None:
    whole = [e.event.to_json() for e in run(world(), 30)]
    w = world()
    limited: list[dict[str, Any]] = []
    while batch := w.advance(w.sim_time(30), limit=7):
        assert len(batch) <= 7
        limited += [e.event.to_json() for e in batch]
    assert len(whole) > 7
    assert limited == whole


def test_event_ids_are_the_uuid5_of_their_number_in_the_run() -> None:
    for run_id in (uuid.UUID(int=0), uuid.uuid4()):
        for n in [*range(1, 2000), 10**6, 2**63]:
            assert name_uuid(run_id, n) == str(uuid.uuid5(run_id, str(n)))


def test_a_new_run_has_fresh_event_ids_and_entity_ids() -> None:
    a = run(world(run_id=uuid.uuid4()), 30)
    b = run(world(run_id=uuid.uuid4()), 30)
    ids_a = {e.event.event_id for e in a}
    assert len(ids_a) == len(a)
    assert not ids_a & {e.event.event_id for e in b}
    orders_a = {e.event.order_id for e in a if isinstance(e.event, OrderEvent)}
    assert not orders_a & {e.event.order_id for e in b if isinstance(e.event, OrderEvent)}


def test_alliance_has_real_parks_and_corridors() -> None:
    assert len(PARKS) >= 8
    assert len({p.country for p in PARKS}) >= 7
    assert all(re.match(PARK_ID_PATTERN, p.park_id) for p in PARKS)
    assert PARKS_BY_ID["CN-QD-SCODA"].city == "Qingdao"
    assert (PARKS_BY_ID["KZ-KHR-ICBC"].lat, PARKS_BY_ID["KZ-KHR-ICBC"].lon) == (44.21, 80.41)
    modes = {c.mode for c in CORRIDORS}
    assert {"RAIL", "ROAD", "SEA"} <= {str(m) for m in modes}
    crossings = {cp.name for c in CORRIDORS for cp in c.checkpoints}
    assert any("Khorgos" in n for n in crossings) and any("Alashankou" in n for n in crossings)
    assert any("Qingdao Port" in n for n in crossings)
    for c in CORRIDORS:
        assert c.origin in PARKS_BY_ID and c.destination in PARKS_BY_ID
        assert [cp.at for cp in c.checkpoints] == sorted(cp.at for cp in c.checkpoints)


@pytest.mark.parametrize(("rate", "speed"), [(20, 600), (100, 3600), (5, 60)])
def test_emits_about_the_target_rate(rate: float, speed: float) -> None:
    w = world(rate=rate, speed=speed)
    run(w, 60)  # past the first capacity declarations
    emitted = run(w, 360)
    assert rate * 0.8 < len(emitted) / 300 < rate * 1.2


def test_event_time_is_the_wall_clock_moment_of_the_simulated_time() -> None:
    w = world(speed=600)
    for e in run(w, 60):
        assert abs(e.event.event_time - (START + (e.at - START) / 600)) < timedelta(milliseconds=1)
    assert w.wall_time(w.sim_time(42)) == START + timedelta(seconds=42)


def test_every_park_publishes_and_the_baseline_raises_no_alert() -> None:
    w = world()
    emitted = run(w, 900)
    assert {e.park for e in emitted} == set(PARKS_BY_ID)
    assert rules.delayed(emitted) == {}
    assert rules.drops(emitted) == {}
    assert rules.shortfalls(emitted) == {}


def test_shipments_travel_their_corridor_and_get_delivered() -> None:
    emitted = run(world(), 1800)
    by_id: dict[str, list[ShipmentEvent]] = {}
    for e in emitted:
        if isinstance(e.event, ShipmentEvent):
            by_id.setdefault(e.event.shipment_id, []).append(e.event)
    complete = [evs for evs in by_id.values() if evs[0].status == ShipmentStatus.BOOKED]
    assert complete
    corridors = {c.corridor_id: c for c in CORRIDORS}
    delivered = 0
    for evs in complete:
        lane = corridors[evs[0].corridor]
        statuses = [e.status for e in evs]
        assert statuses[:2] == [ShipmentStatus.BOOKED, ShipmentStatus.DEPARTED][: len(statuses)]
        assert statuses.count(ShipmentStatus.AT_BORDER) <= len(lane.checkpoints)
        times = [e.event_time for e in evs]
        assert times == sorted(times)
        for e in evs:
            if e.status in (ShipmentStatus.ARRIVED, ShipmentStatus.DELIVERED):
                assert e.source_park == lane.destination
            else:
                assert e.source_park == lane.origin
            if e.status == ShipmentStatus.AT_BORDER:
                assert e.checkpoint is not None
        if statuses[-1] == ShipmentStatus.DELIVERED:
            delivered += 1
            assert ShipmentStatus.ARRIVED in statuses
    assert delivered > 0


def test_capacity_is_declared_for_the_weeks_orders_are_due() -> None:
    emitted = run(world(), 600)
    declared = {e.event.key() for e in emitted if isinstance(e.event, CapacityEvent)}
    placed = [e.event for e in emitted if isinstance(e.event, OrderEvent)]
    assert placed
    for order in placed:
        key = capacity_key(order.supplier_park, order.category, monday(order.due_date))
        assert key in declared, key
        assert order.source_park in (order.buyer_park, order.supplier_park)
