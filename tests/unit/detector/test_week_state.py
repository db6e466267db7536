"""The weekly stage's state: per-order entries with running totals that are exact, and the
weeks a worker rebuilds from its stored entries after a restart or a rebalance."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import factories
from hypothesis import given, settings
from hypothesis import strategies as st

from parklink.detector.events import of_model
from parklink.detector.rules import weeks
from parklink.detector.stages import Stages
from parklink.detector.state import OrderEntity, OrderView, Week, WeekHead, WeekMessage
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import CapacityEvent, OrderEvent, Severity

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BUCKET = "8704|2026-12-07"
NEXT = "8704|2026-12-14"


def at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


def _messages(
    stages: Stages, entities: dict[str, OrderEntity], event: CapacityEvent | OrderEvent
) -> list[tuple[str, WeekMessage]]:
    """The week messages of a capacity or order event (the orders' entities kept in
    `entities`)."""
    if isinstance(event, CapacityEvent):
        return [stages.capacity(of_model(event))]
    entity, messages = stages.order(entities.get(event.order_id), of_model(event))
    entities[event.order_id] = entity
    return messages


def test_running_demand_does_not_drift_when_orders_leave() -> None:
    # As a float running total, 0.1 + 0.2 - 0.1 is 0.20000000000000004: above a capacity of
    # 0.2, so the shortfall would never resolve.
    stages = Stages(Thresholds())
    bucket, msg = stages.capacity(
        of_model(factories.capacity(actual_capacity=0.2, maximum_capacity=None))
    )
    week, _, _ = stages.week(None, bucket, msg, 1)
    found = []
    events = [
        factories.order(order_id="PO-1", quantity=0.1, event_time=at(1)),
        factories.order(order_id="PO-2", quantity=0.2, event_time=at(2)),
        factories.order(order_id="PO-1", quantity=0.1, status="CANCELLED", event_time=at(3)),
    ]
    held = None
    for n, event in enumerate(events):
        held = held if event.order_id == "PO-1" else None
        entity, [(bucket, message)] = stages.order(held, of_model(event))
        held = entity if event.order_id == "PO-1" else held
        week, _, alerts = stages.week(week, bucket, message, 2 + n)
        found += [(a.alert_id, a.severity) for a in alerts if a.type == "CAPACITY_SHORTFALL"]
    shortfall = "CAPACITY_SHORTFALL|CN-QD-SCODA|8704|2026-12-07"
    assert found == [(shortfall, Severity.CRITICAL), (shortfall, None)]
    assert weeks.demand(week, "CN-QD-SCODA") == Fraction(0.2)


def test_rebuilding_from_the_stored_entries_gives_the_same_weeks() -> None:
    stages = Stages(Thresholds())
    live: dict[str, Week] = {}
    heads: dict[str, WeekHead] = {}
    entries: dict[str, OrderView] = {}
    orders: dict[str, OrderEntity] = {}
    events: list[CapacityEvent | OrderEvent] = [
        factories.capacity(event_time=at(0)),
        factories.order(order_id="PO-1", quantity=60, event_time=at(1)),
        factories.order(order_id="PO-2", quantity=70, event_time=at(2)),
        factories.order(order_id="PO-3", quantity=5, status="CANCELLED", event_time=at(3)),
        # PO-1 moves to the next week: its first week keeps the view but stops counting it
        factories.order(order_id="PO-1", quantity=60, due_date="2026-12-16", event_time=at(4)),
    ]
    for event in events:
        for bucket, message in _messages(stages, orders, event):
            live[bucket], saved, _ = stages.week(live.get(bucket), bucket, message, 10)
            if saved.head is not None:
                heads[bucket] = saved.head
            if saved.order is not None:
                entries[weeks.order_key(bucket, saved.order.order_id)] = saved.order
    rebuilt = weeks.rebuild(heads.items(), entries.items())
    assert rebuilt == live
    assert sorted(rebuilt[BUCKET].orders) == ["PO-1", "PO-2", "PO-3"]
    assert [o.order_id for o in weeks.open_orders(rebuilt[BUCKET], "CN-QD-SCODA")] == ["PO-2"]
    assert weeks.demand(rebuilt[NEXT], "CN-QD-SCODA") == 60


def test_a_repeated_order_view_stores_no_entry_and_counts_once() -> None:
    stages = Stages(Thresholds())
    order = factories.order(order_id="PO-1", quantity=60)
    _, [(bucket, message)] = stages.order(None, of_model(order))
    week, saved, _ = stages.week(None, bucket, message, 1)
    assert saved.order is not None
    again = WeekMessage(order=message.order)
    week, saved, _ = stages.week(week, bucket, again, 2)
    assert saved.order is None
    assert weeks.demand(week, "CN-QD-SCODA") == 60


def test_the_cheap_week_impacts_match_the_worded_alerts() -> None:
    """The weekly stage compares impacts without wording alerts; both must agree at every
    step: no capacity, a shortfall (warning, then critical), drops, a resolution."""
    stages, limits = Stages(Thresholds()), Thresholds()
    steps: list[CapacityEvent | OrderEvent] = [
        factories.order(order_id="PO-0", quantity=50, event_time=at(0)),
        factories.capacity(actual_capacity=100, maximum_capacity=130, event_time=at(1)),
        factories.order(order_id="PO-1", quantity=60, event_time=at(2)),
        factories.order(order_id="PO-2", quantity=30, buyer_park="UZ-TAS-NAVOI", event_time=at(3)),
        factories.capacity(actual_capacity=60, maximum_capacity=60, event_time=at(4)),
        factories.capacity(actual_capacity=30, maximum_capacity=None, event_time=at(5)),
        factories.order(order_id="PO-1", quantity=60, status="CANCELLED", event_time=at(6)),
        factories.capacity(actual_capacity=400, maximum_capacity=400, event_time=at(7)),
    ]
    week: Week | None = None
    entities: dict[str, OrderEntity] = {}
    severities = set()
    for n, event in enumerate(steps):
        for bucket, message in _messages(stages, entities, event):
            week, _, _ = stages.week(week, bucket, message, 1000 + n)
            parks = ["CN-QD-SCODA", "KZ-ALA-IPA"]
            worded = {a.alert_id: a.impact() for a in weeks.week_alerts(week, parks, limits, 0)}
            assert weeks.week_impacts(week, parks, limits) == worded
            severities |= {impact[0] for impact in worded.values()}
    assert severities == {None, Severity.WARNING, Severity.CRITICAL}


def test_the_remembered_impacts_are_the_ones_worked_out_and_a_change_forgets_them() -> None:
    """The weekly stage takes a supplier's impacts before an update from what the week
    remembered after the last one: at every step they must be what the week gives."""
    stages, limits = Stages(Thresholds()), Thresholds()
    steps: list[CapacityEvent | OrderEvent] = [
        factories.capacity(actual_capacity=100, maximum_capacity=130, event_time=at(0)),
        factories.order(order_id="PO-1", quantity=60, event_time=at(1)),
        factories.order(order_id="PO-2", quantity=70, event_time=at(2)),
        factories.order(order_id="PO-3", quantity=40, buyer_park="UZ-TAS-NAVOI", event_time=at(3)),
        factories.capacity(actual_capacity=30, maximum_capacity=None, event_time=at(4)),
        factories.order(order_id="PO-1", quantity=60, status="CANCELLED", event_time=at(5)),
        factories.order(order_id="PO-2", quantity=70, due_date="2026-12-16", event_time=at(6)),
    ]
    book: dict[str, Week] = {}
    entities: dict[str, OrderEntity] = {}
    for n, event in enumerate(steps):
        for bucket, message in _messages(stages, entities, event):
            book[bucket], _, _ = stages.week(book.get(bucket), bucket, message, 100 + n)
        for week in book.values():
            assert week.impacts, "the stage remembers what it worked out"
            for park, impacts in week.impacts.items():
                fresh = Week(bucket=week.bucket, head=week.head, orders=week.orders)
                fresh.suppliers = week.suppliers
                assert impacts == weeks.week_impacts(fresh, [park], limits), (n, park)
    week = book[BUCKET]
    view = week.orders["PO-3"]
    park = view.supplier_park
    assert park in week.impacts
    weeks.apply_week(week, WeekMessage(order=replace(view, event_time=view.event_time + 1)))
    assert park not in week.impacts


_FINITE = st.floats(min_value=-1e300, max_value=1e300)  # sums of 20 stay finite


@settings(max_examples=300, deadline=None)
@given(st.lists(_FINITE, max_size=20), _FINITE)
def test_demand_is_summed_and_compared_exactly(quantities: list[float], capacity: float) -> None:
    """Whole numbers of 2**-1074 hold every float exactly: their sums, comparisons and the
    float of a sum are those of exact rational arithmetic."""
    units = sum(weeks.exact_units(q) for q in quantities)
    exact = sum((Fraction(q) for q in quantities), Fraction())
    assert Fraction(units, 1 << 1074) == exact
    assert weeks._float(units) == float(exact)
    assert weeks._above(units, capacity) == (exact > capacity)
    for edge in (float("inf"), float("-inf"), float("nan")):
        assert weeks._above(units, edge) == (exact > edge)


_BUYERS = ["KZ-ALA-IPA", "UZ-TAS-NAVOI", "BY-MSK-GREATSTONE"]
_STEP = st.tuples(
    st.integers(0, 11),  # which order
    st.sampled_from([0.5, 1.0, 3.0]),  # its quantity
    st.sampled_from(_BUYERS),
    st.sampled_from(["CONFIRMED", "CANCELLED"]),
    st.sampled_from(["2026-12-08", "2026-12-16"]),  # this week or the next
    st.booleans(),  # ask for the alerts after this step (the ids are kept in order then)
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=40), st.integers(1, 5))
def test_kept_order_ids_and_buyers_are_those_of_the_open_orders(
    steps: list[tuple[int, float, str, str, str, bool]], limit: int
) -> None:
    """A firing shortfall lists its supplier's first open orders by id and the parks of their
    buyers from what the week keeps up to date with every update (an amendment, a move to
    another week, a cancellation); at every step that, and the demand, is what the open
    orders give worked out afresh, and the alerts are those of the week rebuilt from its
    stored entries."""
    limits = Thresholds(alert_list_limit=limit)
    stages = Stages(limits)
    supplier = "CN-QD-SCODA"
    bucket, msg = stages.capacity(
        of_model(factories.capacity(actual_capacity=1, maximum_capacity=2, event_time=at(0)))
    )
    week, _, _ = stages.week(None, bucket, msg, 1)
    entities: dict[str, OrderEntity] = {}
    for n, (which, quantity, buyer, status, due, ask) in enumerate(steps, start=1):
        event = factories.order(
            order_id=f"PO-{which}",
            buyer_park=buyer,
            status=status,
            due_date=due,
            quantity=quantity,
            event_time=at(n),
        )
        for key, message in _messages(stages, entities, event):
            if key == bucket:
                week, _, _ = stages.week(week, key, message, 1 + n)
        open_now = sorted(
            (v for v in week.orders.values() if v.is_open and v.bucket == bucket),
            key=lambda v: v.order_id,
        )
        kept, left = weeks.first_open(week, supplier, limit)
        assert [v.order_id for v in kept] == [v.order_id for v in open_now][:limit]
        assert left == max(0, len(open_now) - limit)
        assert weeks.demand(week, supplier) == sum(
            (Fraction(v.quantity) for v in open_now), Fraction()
        )
        assert weeks._parks(week, supplier) == tuple(
            sorted({supplier, *(v.buyer_park for v in open_now)})
        )
        if ask:
            rebuilt = weeks.rebuild(
                [(bucket, week.head)],
                [(weeks.order_key(bucket, o), v) for o, v in week.orders.items()],
            )[bucket]
            assert weeks.week_alerts(week, [supplier], limits, n) == weeks.week_alerts(
                rebuilt, [supplier], limits, n
            )
            assert weeks.week_impacts(week, [supplier], limits) == {
                a.alert_id: a.impact() for a in weeks.week_alerts(week, [supplier], limits, n)
            }


def test_a_shortfall_and_a_drop_of_many_orders_list_the_first_by_id_and_count_the_rest() -> None:
    """More open orders than an alert lists (and than its evidence holds): the first by id
    are named, the rest counted, whatever order they came in."""
    limits = Thresholds(alert_list_limit=3)
    stages = Stages(limits)
    bucket, msg = stages.capacity(
        of_model(factories.capacity(actual_capacity=10, maximum_capacity=20, event_time=at(0)))
    )
    week, _, _ = stages.week(None, bucket, msg, 1)
    ids = [f"PO-{(i * 37) % 60:03d}" for i in range(60)]  # 60 ids, not in order
    entities: dict[str, OrderEntity] = {}
    for n, order_id in enumerate(ids, start=1):
        event = factories.order(order_id=order_id, quantity=1, event_time=at(n))
        [(key, message)] = _messages(stages, entities, event)
        week, _, _ = stages.week(week, key, message, 1 + n)
    cut = factories.capacity(actual_capacity=2, maximum_capacity=20, event_time=at(100))
    [(key, message)] = _messages(stages, entities, cut)
    week, _, _ = stages.week(week, key, message, 200)
    shortfall, drop = weeks.week_alerts(week, ["CN-QD-SCODA"], limits, 300)
    for alert in (shortfall, drop):
        assert alert.severity == Severity.CRITICAL, alert.type
        assert alert.impacted_orders == ("PO-000", "PO-001", "PO-002"), alert.type
        assert alert.metrics["orders_not_listed"] == 57, alert.type
        assert alert.summary.endswith("Not listed: 57 more orders."), alert.type
    assert shortfall.metrics["open_orders"] == 60
    assert len(shortfall.evidence) == 3
    assert weeks.week_impacts(week, ["CN-QD-SCODA"], limits) == {
        a.alert_id: a.impact() for a in (shortfall, drop)
    }
