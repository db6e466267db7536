"""Property: whatever the contract admits, in any order, repeated or late, the detector's
stages (the topology the worker runs, through `Engine`) raise nothing, and every alert and
table value stays within the size bounds of docs/bounds.md."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as note
from hypothesis import strategies as st

from parklink.detector.codec import DataclassCodec
from parklink.detector.engine import Engine
from parklink.detector.rules import shipments
from parklink.detector.rules.admission import (
    OUT_OF_BOUNDS,
    PARTY_MISMATCH,
    PARTY_RULE,
    PAST_WEEK,
)
from parklink.detector.state import ShipmentEntity, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.detector.topology import TABLES
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import (
    MAX_AMOUNT,
    MAX_ID_LENGTH,
    MAX_MEASURE,
    MAX_ORDER_IDS,
    MAX_REASON_LENGTH,
    MAX_TEXT_LENGTH,
    MIN_MEASURE,
    CapacityEvent,
    OrderEvent,
    OrderStatus,
    ParkEvent,
    ShipmentEvent,
    ShipmentStatus,
    TransportMode,
)

MAX_REQUEST = 1_048_576
"""The producer's max.request.size: no table value may come near it."""
ALERT_BYTES = 32_000
"""An alert with every list at the default limit of 50 (docs/bounds.md: about 25 KB)."""
VIEW_BYTES = 32_000

FIRST = datetime(2000, 1, 1, tzinfo=UTC)
LAST = datetime(2099, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC)
CLOCKS = (
    datetime(2000, 1, 2, tzinfo=UTC),
    datetime(2026, 11, 23, 8, tzinfo=UTC),
    datetime(2099, 12, 30, tzinfo=UTC),
)
BOUNDS = TimeBounds()
PARKS = ("CN-QD-SCODA", "KZ-ALA-IPA", "CN-XA-ILP", "ZZ-Z9Z9Z9-ZZZZZZZZZZZZZZZZ")
CORRIDORS = ("QD-KHR-ALA-RAIL", "XA-DOS-DUI", "-".join(["A1"] * 21) + "-A")

# Ids: the contract's characters (any printable but `|` and whitespace), short and long,
# and a small pool so that events meet on one entity.
ID_CHARS = st.characters(
    blacklist_categories=("Cc", "Cs", "Zs", "Zl", "Zp"),
    blacklist_characters="|\x85\xa0\u1680\u180e\u2028\u2029\u202f\u205f\u3000\ufeff",
)
TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs"))
free_ids = st.text(ID_CHARS, min_size=1, max_size=MAX_ID_LENGTH).filter(
    lambda s: not any(c.isspace() for c in s)
)
ids = st.one_of(
    st.sampled_from(["A-1", "A-2", "A-3", "Ω-🚚", "x" * MAX_ID_LENGTH]),
    free_ids,
)
texts = st.one_of(
    st.sampled_from(["x", "Σ" * MAX_TEXT_LENGTH]),
    st.text(TEXT_CHARS, min_size=1, max_size=MAX_TEXT_LENGTH),
)
units = st.one_of(
    st.sampled_from(["pcs", "t", "u" * 16]), st.text(TEXT_CHARS, min_size=1, max_size=16)
)
measures = st.one_of(
    st.sampled_from([0.0, MIN_MEASURE, 1.0, MAX_MEASURE, MAX_MEASURE - 1, 1.5 * MIN_MEASURE]),
    st.floats(MIN_MEASURE, MAX_MEASURE, allow_nan=False, allow_infinity=False),
)
parks = st.one_of(
    # one_of picks a branch uniformly: two parks most of the time, so that they meet.
    st.sampled_from(PARKS[:2]),
    st.sampled_from(PARKS[:2]),
    st.sampled_from(PARKS),
    st.from_regex(r"\A[A-Z]{2}-[A-Z0-9]{2,6}-[A-Z0-9]{2,16}\Z"),
)
categories = st.one_of(st.just("8704"), st.just("8704"), st.sampled_from(["0000", "9999"]))
offsets = st.sampled_from([timedelta(hours=h) for h in (-12, -5, 0, 8, 14)])
moments = st.one_of(
    st.sampled_from([FIRST, LAST]),
    st.datetimes(datetime(2000, 1, 2), datetime(2099, 12, 30), timezones=st.just(UTC)),
)
DUE = (date(2000, 1, 5), date(2026, 12, 9), date(2099, 12, 29))
"""Days in the weeks of the clocks (so orders meet capacity), besides the contract's range."""
days = st.one_of(
    st.sampled_from(DUE),
    st.sampled_from(DUE),
    st.sampled_from([date(2000, 1, 1), date(2099, 12, 31)]),
    st.dates(date(2000, 1, 1), date(2099, 12, 31)),
)
DELAYS = [timedelta(0), timedelta(hours=25), timedelta(hours=80), timedelta(days=36_000)]


def order_id_lists() -> st.SearchStrategy[list[str]]:
    """Few ids, or the contract's most: 1,000 of 128 characters (built, not drawn)."""
    many = st.builds(
        lambda prefix, n: [f"{prefix}{i:04d}".ljust(MAX_ID_LENGTH, "o") for i in range(n)],
        st.sampled_from(["PO-", "Ω-"]),
        st.sampled_from([MAX_ORDER_IDS, 60]),
    )
    return st.one_of(st.lists(ids, max_size=5), many)


@st.composite
def event_time(draw: st.DrawFn, clock: datetime) -> datetime:
    """Mostly within the time bounds of its arrival, sometimes anywhere in the contract."""
    if draw(st.integers(0, 9)) == 0:
        moment = draw(moments)
    else:
        back = draw(
            st.integers(-int(BOUNDS.skew.total_seconds()), int(BOUNDS.horizon.total_seconds()))
        )
        moment = min(max(clock - timedelta(seconds=back), FIRST), LAST)
    offset = draw(offsets)
    local = moment.astimezone(timezone(offset))
    return local if 2000 <= local.year <= 2099 else moment


BUYER_SIDE = [OrderStatus.PLACED, OrderStatus.AMENDED, OrderStatus.CANCELLED]


@st.composite
def order(draw: st.DrawFn, clock: datetime) -> OrderEvent:
    buyer, supplier = draw(parks), draw(parks)
    source = draw(st.sampled_from([buyer, supplier]))
    side = BUYER_SIDE if source == buyer else list(OrderStatus)
    if source == supplier and source != buyer:
        side = [OrderStatus.CONFIRMED, OrderStatus.FULFILLED]
    doc: dict[str, Any] = {
        "event_id": str(draw(st.uuids())),
        "event_time": draw(event_time(clock)),
        "source_park": source,
        "order_id": draw(ids),
        # Mostly the statuses of the sender's side, sometimes any (a party-rule refusal).
        "status": draw(
            st.one_of(
                st.sampled_from(side), st.sampled_from(side), st.sampled_from(list(OrderStatus))
            )
        ),
        "buyer_park": buyer,
        "supplier_park": supplier,
        "sku": draw(texts),
        "category": draw(categories),
        "quantity": draw(measures),
        "unit": draw(units),
        "due_date": draw(days),
        "value": draw(
            st.one_of(
                st.none(),
                st.builds(
                    lambda a: {"amount": a, "currency": "CNY"},
                    st.sampled_from([0.0, MAX_AMOUNT, 1.0]),
                ),
            )
        ),
    }
    return OrderEvent.model_validate(doc)


@st.composite
def shipment(draw: st.DrawFn, clock: datetime) -> ShipmentEvent:
    origin, destination = draw(parks), draw(parks)
    planned = draw(moments)
    doc: dict[str, Any] = {
        "event_id": str(draw(st.uuids())),
        "event_time": draw(event_time(clock)),
        "source_park": draw(st.sampled_from([origin, destination])),
        "shipment_id": draw(ids),
        "order_ids": draw(order_id_lists()),
        "status": draw(st.sampled_from(list(ShipmentStatus))),
        "mode": draw(st.sampled_from(list(TransportMode))),
        "origin_park": origin,
        "destination_park": destination,
        "corridor": draw(st.sampled_from(CORRIDORS)),
        "checkpoint": draw(
            st.one_of(
                st.none(),
                st.builds(
                    lambda n, la, lo: {"name": n, "lat": la, "lon": lo},
                    texts,
                    st.sampled_from([-90.0, 0.0, 90.0]),
                    st.sampled_from([-180.0, 180.0]),
                ),
            )
        ),
        "planned_arrival": planned,
        "estimated_arrival": draw(
            st.one_of(
                st.none(),
                moments,
                st.sampled_from(DELAYS).map(lambda d: min(planned + d, LAST)),
            )
        ),
    }
    return ShipmentEvent.model_validate(doc)


@st.composite
def capacity(draw: st.DrawFn, clock: datetime, of: OrderEvent | None = None) -> CapacityEvent:
    """A declaration; `of` an order: of its supplier, category and week."""
    park = draw(parks) if of is None else of.supplier_park
    actual = draw(measures)
    maximum = draw(st.one_of(st.none(), measures))
    if maximum is not None and maximum < actual:
        actual, maximum = maximum, actual
    day = draw(days) if of is None else of.due_date
    monday = max(day - timedelta(days=day.isoweekday() - 1), date(2000, 1, 3))
    doc: dict[str, Any] = {
        "event_id": str(draw(st.uuids())),
        "event_time": draw(event_time(clock)),
        "source_park": park,
        "park_id": park,
        "category": draw(categories) if of is None else of.category,
        "week_start": monday,
        "actual_capacity": actual,
        "maximum_capacity": maximum,
        "unit": draw(units),
        "reason": draw(st.one_of(st.none(), st.just("r" * MAX_REASON_LENGTH))),
    }
    return CapacityEvent.model_validate(doc)


@st.composite
def histories(draw: st.DrawFn) -> tuple[int, datetime, list[tuple[ParkEvent | None, int]]]:
    """A limit, a start clock and events with the seconds the broker clock moves before each
    (None: a clock tick of the silence check); repeats and late copies mixed in."""
    limit = draw(st.sampled_from([1, 3, 50]))
    clock = draw(st.sampled_from(CLOCKS))
    kinds = st.sampled_from(["order", "shipment", "capacity", "tick"])
    steps: list[tuple[ParkEvent | None, int]] = []
    for kind in draw(st.lists(kinds, min_size=1, max_size=40)):
        gap = draw(st.sampled_from([0, 1, 3600, 7 * 86_400]))
        if kind == "tick":
            steps.append((None, gap))
            continue
        build = {"order": order, "shipment": shipment, "capacity": capacity}[kind]
        drawn = draw(build(clock))
        steps.append((drawn, gap))
        if isinstance(drawn, OrderEvent) and draw(st.booleans()):
            # Capacity where the order counts: shortfalls, drops and spare capacity.
            steps.append((draw(capacity(clock, drawn)), 0))
    seen = [e for e, _ in steps if e is not None]
    for _ in range(draw(st.integers(0, 3)) if seen else 0):
        repeat = draw(st.sampled_from(seen))
        steps.insert(draw(st.integers(0, len(steps))), (repeat, 0))
    return limit, clock, steps


CODECS: dict[str, DataclassCodec[Any]] = {
    spec.name: DataclassCodec(spec.value) for spec in TABLES if not spec.changelog_is_alerts
}
REFUSALS = {PARTY_RULE, PARTY_MISMATCH, OUT_OF_BOUNDS, PAST_WEEK}


def check_sizes(engine: Engine) -> None:
    for name, table in engine.tables.items():
        codec = CODECS.get(name)
        for key, value in table.items():
            size = len(value.model_dump_json()) if codec is None else len(codec.dumps(value))
            assert size < MAX_REQUEST, (name, key, size)
    for entity in engine.tables["shipments"].data.values():
        assert isinstance(entity, ShipmentEntity)
        delay = shipments.delay_alert(entity, engine.stages.limits, 0)
        for _, view in shipments.corridor_views(entity, delay):
            assert len(DataclassCodec(ShipmentView).dumps(view)) < VIEW_BYTES


@settings(
    max_examples=100,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(histories())
def test_nothing_a_park_may_send_stops_or_bloats_the_detector(
    history: tuple[int, datetime, list[tuple[ParkEvent | None, int]]],
) -> None:
    limit, clock, steps = history
    engine = Engine(Thresholds(alert_list_limit=limit), BOUNDS)
    for event, gap in steps:
        clock = min(clock + timedelta(seconds=gap), LAST)
        out = engine.tick(clock) if event is None else engine.process(event, clock)
        for alert in out:
            for items in (alert.parks, alert.impacted_orders, alert.impacted_shipments):
                assert len(items) <= limit
            assert len(alert.evidence) <= limit
            assert all(math.isfinite(v) for v in alert.metrics.values())
            assert len(alert.model_dump_json()) < ALERT_BYTES
            note(f"alert {alert.type} {alert.status.value}")
            if "Not listed" in alert.summary:
                note("an alert left items out")
    note(f"refused: {len(engine.refused) > 0}")
    assert {reason for _, reason, _ in engine.refused} <= REFUSALS
    check_sizes(engine)
