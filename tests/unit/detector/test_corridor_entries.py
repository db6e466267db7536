"""A corridor is stored as one table entry per shipment (`corridor|shipment_id`) and a head
with its clock; the stage keeps it in memory, updated in place. What it stores must rebuild
exactly the corridor it holds, and a view must write only what it changed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import factories
from hypothesis import given, settings
from hypothesis import strategies as st

from parklink.detector.engine import Engine
from parklink.detector.rules import corridors
from parklink.detector.state import CorridorState, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import ShipmentEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 11, 30, tzinfo=UTC)
CORRIDOR = "QD-KHR-ALA-RAIL"


def shipment(n: int, late_hours: float, minutes: int = 0) -> ShipmentEvent:
    return factories.shipment(
        shipment_id=f"SH-{n}",
        event_time=(NOW + timedelta(minutes=minutes)).isoformat(),
        planned_arrival=PLANNED.isoformat(),
        estimated_arrival=(PLANNED + timedelta(hours=late_hours)).isoformat(),
    )


def test_the_entries_rebuild_the_corridor_the_stage_holds() -> None:
    eng = Engine(Thresholds(), TimeBounds(skew=timedelta(days=1)))
    for n in range(6):
        eng.process(shipment(n, 36), NOW)
    for n in range(2):  # two of them are on time again: calm, kept slim
        eng.process(shipment(n, 0, minutes=5), NOW)
    held: dict[str, CorridorState] = eng._io["corridors"].cache["corridors"]
    heads = eng.tables["corridor-heads"].data
    entries = eng.tables["corridor-shipments"].data
    assert sorted(entries) == [f"{CORRIDOR}|SH-{n}" for n in range(6)]
    rebuilt = corridors.rebuild(heads.items(), entries.items())
    assert set(rebuilt) == set(held) == {CORRIDOR}
    got, want = rebuilt[CORRIDOR], held[CORRIDOR]
    assert got.shipments == want.shipments
    assert set(got.counted) == set(want.counted) == {f"SH-{n}" for n in range(2, 6)}
    assert got.clock == want.clock > 0
    assert entries[f"{CORRIDOR}|SH-0"].delay is None, "a calm shipment is kept slim"


def view(n: int, delayed: bool, at: int) -> ShipmentView:
    return ShipmentView(
        shipment_id=f"SH-{n}",
        event_time=at,
        event_id=f"e-{n}-{at}",
        corridor=CORRIDOR,
        delayed=delayed,
        order_ids=(),
        parks=(),
    )


def test_a_view_writes_its_entry_and_lets_the_oldest_calm_shipment_go() -> None:
    state = CorridorState(corridor=CORRIDOR)
    for n in range(corridors.MAX_CALM_SHIPMENTS):
        assert corridors.apply_view(state, view(n, False, 1000 + n)) == [
            (f"SH-{n}", view(n, False, 1000 + n))
        ]
    assert corridors.apply_view(state, view(-1, True, 1)) == [("SH--1", view(-1, True, 1))]
    # One calm shipment too many: the oldest calm one goes (not the older delayed one).
    newest = view(5000, False, 9000)
    assert corridors.apply_view(state, newest) == [("SH-5000", newest), ("SH-0", None)]
    assert "SH-0" not in state.shipments and "SH--1" in state.counted
    assert len(state.shipments) == corridors.MAX_CALM_SHIPMENTS + 1
    # Not news (an older or the same version): nothing changes, nothing is written.
    assert corridors.apply_view(state, replace(newest, event_time=8999)) == []
    assert corridors.apply_view(state, newest) == []


def test_the_remembered_congestion_is_the_one_worked_out_and_a_change_forgets_it() -> None:
    """The corridor stage works out the congestion before a view from what it remembered
    after the last one: that must be what the corridor's views give, at every step."""
    limits = Thresholds()
    eng = Engine(limits, TimeBounds(skew=timedelta(days=1)))
    steps = [(n, 36.0, 0) for n in range(6)] + [(1, 0.0, 5), (2, 80.0, 6), (7, 30.0, 7)]
    for n, late, minutes in steps:
        eng.process(shipment(n, late, minutes), NOW)
        state: CorridorState = eng._io["corridors"].cache["corridors"][CORRIDOR]
        assert state.congestion is not None
        assert state.congestion == corridors.congestion_alert(state, limits, 0).impact()
        assert state.congestion == corridors.congestion_impact(state, limits)
    corridors.remember(state, view(9, True, 10**13))
    assert state.congestion is None
    state.congestion = corridors.congestion_alert(state, limits, 0).impact()
    corridors.forget(state, "SH-9")
    assert state.congestion is None


@settings(max_examples=300, deadline=None)
@given(
    shipments=st.lists(
        st.tuples(
            st.booleans(),
            st.lists(st.sampled_from([f"PO-{n}" for n in range(12)]), max_size=6, unique=True),
            st.lists(st.sampled_from(["CN-QD", "KZ-KHR", "KZ-ALA", "UZ-NAV"]), max_size=3),
            st.integers(0, 9),
        ),
        max_size=14,
    ),
    list_limit=st.integers(1, 6),
)
def test_the_congestion_impact_is_the_impact_of_the_worded_alert(
    shipments: list[tuple[bool, list[str], list[str], int]], list_limit: int
) -> None:
    """The stage works out `congestion_impact` after every view and words the alert only to
    send it: both must say the same, below the warning count, at each severity, and with
    lists cut at the list limit (orders a view did not list included)."""
    limits = Thresholds(alert_list_limit=list_limit)
    state = CorridorState(corridor=CORRIDOR)
    for n, (delayed, orders, parks, unlisted) in enumerate(shipments):
        corridors.remember(
            state,
            replace(
                view(n, delayed, 1000 + n),
                order_ids=tuple(sorted(orders)),
                parks=tuple(sorted(set(parks))),
                order_count=len(orders) + unlisted,
            ),
        )
        want = corridors.congestion_alert(state, limits, 0).impact()
        assert corridors.congestion_impact(state, limits) == want
