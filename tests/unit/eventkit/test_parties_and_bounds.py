"""The party rules and the time bounds as pure functions (the gateway and SDK tests show
them at work end to end)."""

from __future__ import annotations

from datetime import timedelta

import factories
import pytest

from parklink.eventkit.bounds import TimeBounds, check_event_times, event_time_problem
from parklink.eventkit.errors import EventRejected, ForeignPark
from parklink.eventkit.parties import Rule, check_parties, party_problem

QD, ALA, ISB = "CN-QD-SCODA", "KZ-ALA-IPA", "PK-ISB-SEZ"


@pytest.mark.parametrize(
    ("source", "status", "rule"),
    [
        (ALA, "PLACED", None),
        (ALA, "AMENDED", None),
        (ALA, "CANCELLED", None),
        (ALA, "CONFIRMED", Rule.ORDER_SIDE),
        (ALA, "FULFILLED", Rule.ORDER_SIDE),
        (QD, "CONFIRMED", None),
        (QD, "FULFILLED", None),
        (QD, "PLACED", Rule.ORDER_SIDE),
        (QD, "CANCELLED", Rule.ORDER_SIDE),
        (ISB, "PLACED", Rule.ORDER_PARTY),
    ],
)
def test_order_statuses_belong_to_a_side(source: str, status: str, rule: Rule | None) -> None:
    problem = party_problem(factories.order(source_park=source, status=status))
    assert (problem.rule if problem else None) == rule


def test_a_park_ordering_from_itself_says_every_status() -> None:
    for status in ("PLACED", "CONFIRMED", "FULFILLED"):
        event = factories.order(source_park=QD, buyer_park=QD, supplier_park=QD, status=status)
        assert party_problem(event) is None


def test_shipments_and_capacity() -> None:
    assert party_problem(factories.shipment(source_park=QD)) is None
    assert party_problem(factories.shipment(source_park=ALA)) is None
    problem = party_problem(factories.shipment(source_park="KZ-KHR-ICBC"))
    assert problem is not None and problem.rule is Rule.SHIPMENT_PARTY
    assert party_problem(factories.capacity()) is None


def test_check_parties_names_every_broken_item_and_its_rule() -> None:
    events = [
        factories.order(),
        factories.order(status="CONFIRMED"),
        factories.order(),
        factories.order(source_park=QD),
    ]
    with pytest.raises(ForeignPark) as err:
        check_parties(events, ALA)
    assert [(d["index"], d["rule"]) for d in err.value.details] == [
        (1, "order-status-side"),
        (3, "own-park"),
    ]


def test_time_bounds_are_inclusive_and_configurable() -> None:
    now = factories.T0
    bounds = TimeBounds()
    assert event_time_problem(now + timedelta(minutes=10), now, bounds) is None
    assert event_time_problem(now - timedelta(days=30), now, bounds) is None
    ahead = event_time_problem(now + timedelta(minutes=10, seconds=1), now, bounds)
    assert ahead is not None and "10 min in the future" in ahead
    old = event_time_problem(now - timedelta(days=30, seconds=1), now, bounds)
    assert old is not None and "older than 30 days" in old
    tight = TimeBounds(skew=timedelta(0), horizon=timedelta(hours=1))
    assert event_time_problem(now + timedelta(seconds=1), now, tight) is not None
    events = [factories.order(event_time=now), factories.order(event_time=now - timedelta(hours=2))]
    with pytest.raises(EventRejected) as err:
        check_event_times(events, now, tight)
    assert [(d["index"], d["path"]) for d in err.value.details] == [(1, "event_time")]
