"""Alert and state sizes stay bounded whatever the contract admits: lists capped at
`alert_list_limit`, what is left out counted in the metrics and named in the summary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories
import pytest

from parklink.detector.codec import DataclassCodec
from parklink.detector.engine import Engine
from parklink.detector.rules import limits
from parklink.detector.state import AlertState, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import MAX_ID_LENGTH, MAX_ORDER_IDS, DisruptionAlert

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 11, 30, tzinfo=UTC)


def engine(limit: int = 50) -> Engine:
    return Engine(Thresholds(alert_list_limit=limit), TimeBounds(skew=timedelta(days=1)))


def long_ids(prefix: str, n: int = MAX_ORDER_IDS) -> list[str]:
    return [f"{prefix}{i:05d}".ljust(MAX_ID_LENGTH, "x") for i in range(n)]


def test_bound_cuts_every_list_and_counts_the_rest() -> None:
    alert = AlertState(
        type="CORRIDOR_CONGESTION",
        subject="A-B",
        severity=None,
        summary="Busy.",
        parks=("P1", "P2", "P3"),
        impacted_orders=tuple(f"O{i}" for i in range(5)),
        impacted_shipments=("S1",),
        evidence=("e1", "e2", "e3"),
    )
    cut = limits.bound(alert, 2, (0, 10, 0))
    assert cut.parks == ("P1", "P2")
    assert cut.impacted_orders == ("O0", "O1")
    assert cut.impacted_shipments == ("S1",)
    assert cut.evidence == ("e1", "e2")
    assert cut.metrics == {"parks_not_listed": 1.0, "orders_not_listed": 13.0}
    assert cut.summary == "Busy. Not listed: 1 more park and 13 more orders."
    assert limits.bound(alert, 5) is alert


def test_left_out_words_one_two_and_three_kinds() -> None:
    assert limits.left_out((0, 0, 0)) == ""
    assert limits.left_out((0, 0, 1)) == " Not listed: 1 more shipment."
    assert limits.left_out((2, 1, 3)) == (
        " Not listed: 2 more parks, 1 more order and 3 more shipments."
    )


def test_eight_delayed_shipments_of_a_thousand_long_order_ids_stay_small() -> None:
    """The issue's case: 8 shipments x 1,000 order ids of 128 characters on one corridor
    made a 2 MB corridor value and a 1 MB alert."""
    eng = engine()
    out: list[DisruptionAlert] = []
    for n in range(8):
        out += eng.process(
            factories.shipment(
                shipment_id=f"SH-{n}",
                order_ids=long_ids(f"PO-{n}-"),
                planned_arrival=PLANNED.isoformat(),
                estimated_arrival=(PLANNED + timedelta(hours=30)).isoformat(),
            ),
            NOW,
        )
    congestion = eng.alerts["CORRIDOR_CONGESTION|QD-KHR-ALA-RAIL"]
    assert congestion.severity.value == "CRITICAL"
    assert len(congestion.impacted_orders) == 50
    assert congestion.impacted_orders == sorted(congestion.impacted_orders)
    assert congestion.impacted_orders[0].startswith("PO-0-00000")
    assert congestion.metrics["orders_not_listed"] == 8 * MAX_ORDER_IDS - 50
    assert "Not listed: 7950 more orders." in congestion.summary
    delay = eng.alerts["SHIPMENT_DELAY|SH-3"]
    assert len(delay.impacted_orders) == 50
    assert delay.metrics["orders_not_listed"] == MAX_ORDER_IDS - 50
    for alert in out:
        assert len(alert.model_dump_json()) < 16_000
    entries = eng.tables["corridor-shipments"].data
    assert sorted(entries) == [f"QD-KHR-ALA-RAIL|SH-{n}" for n in range(8)]
    codec: DataclassCodec[ShipmentView] = DataclassCodec(ShipmentView)
    for view in entries.values():
        assert isinstance(view, ShipmentView)
        size = len(codec.dumps(view))
        assert size < 16_000, size


def test_one_more_order_beyond_the_list_is_still_a_change() -> None:
    """The count of what is left out is part of an alert's impact."""
    eng = engine(limit=3)
    eng.process(factories.capacity(actual_capacity=10.0, maximum_capacity=1000.0), NOW)
    for n in range(4):
        eng.process(factories.order(order_id=f"PO-{n}", quantity=5), NOW)
    before = eng.alerts["CAPACITY_SHORTFALL|CN-QD-SCODA|8704|2026-12-07"]
    assert before.impacted_orders == ["PO-0", "PO-1", "PO-2"]
    assert before.metrics["orders_not_listed"] == 1.0
    [after] = eng.process(factories.order(order_id="PO-9", quantity=5), NOW)
    assert after.impacted_orders == ["PO-0", "PO-1", "PO-2"]
    assert after.metrics["orders_not_listed"] == 2.0
    assert after.summary.endswith("Not listed: 2 more orders.")


def test_spare_capacity_lists_at_most_the_limit() -> None:
    eng = engine(limit=2)
    parks = ["CN-QD-SCODA", "KZ-ALA-IPA", "CN-XA-ILP", "DE-DUI-PORT", "PL-MAL-TERM"]
    for park in parks[1:]:
        eng.process(factories.capacity(source_park=park, park_id=park), NOW)
    eng.process(factories.capacity(actual_capacity=10.0), NOW)
    [alert] = eng.process(factories.order(quantity=50), NOW)
    spare = [k for k in alert.metrics if k.startswith("spare|")]
    assert len(spare) == 2
    assert "and 2 more park(s)." in alert.summary


@pytest.mark.parametrize("limit", [0, 1001])
def test_the_limit_is_checked(limit: int) -> None:
    with pytest.raises(ValueError):
        Thresholds(alert_list_limit=limit)
