"""The poison cases of a long-running alliance on a real broker: numbers at the contract's
extremes, sizes at its largest, and records the contract refuses (a quantity of 1.7e308, a
capacity of 5e-324, a timestamp beyond every datetime). The worker dead-letters what it
refuses with the reason, keeps its alerts within their size bounds, and a normal delayed
shipment published afterwards still gets its alert."""

from __future__ import annotations

import math
import struct
from typing import Any

import factories
import pytest
from integration.detector.conftest import Network

from parklink.eventkit.contracts import MAX_ID_LENGTH, MAX_MEASURE, MAX_ORDER_IDS, MIN_MEASURE
from parklink.eventkit.schemas import parsed_schema, schema_text
from parklink.eventkit.serde import encode_body

pytestmark = pytest.mark.broker

CORRIDOR = "PX-PY-PZ-RAIL"
PROBLEM_WEEK = {"category": "8705", "due_date": "2026-12-09"}


def raw(network: Network, role: str, schema: str, record: dict[str, Any]) -> bytes:
    """A record encoded as its Avro schema allows, past the contract's models."""
    schema_id = network.registry.register(f"{network.topic(role)}-value", schema_text(schema))
    return struct.pack(">bI", 0, schema_id) + encode_body(parsed_schema(schema), record)


def test_poison_then_a_normal_delay_still_alerts(network: Network) -> None:
    worker = network.start()
    refused = {
        b"PO-HUGE": (
            "orders",
            raw(
                network,
                "orders",
                "OrderEvent",
                factories.order(order_id="PO-HUGE").to_avro() | {"quantity": 1.7e308},
            ),
        ),
        b"CAP-TINY": (
            "capacity",
            raw(
                network,
                "capacity",
                "CapacityEvent",
                factories.capacity().to_avro()
                | {"actual_capacity": 5e-324, "maximum_capacity": None},
            ),
        ),
        b"PO-FAR": (
            "orders",
            raw(
                network,
                "orders",
                "OrderEvent",
                factories.order(order_id="PO-FAR").to_avro() | {"event_time": 2**62},
            ),
        ),
    }
    for key, (role, value) in refused.items():
        network.publish_raw(role, key, value)
    # What the contract admits at its extremes: the largest quantities against the smallest
    # capacity, and 8 delayed shipments of 1,000 order ids of 128 characters each.
    network.publish(
        factories.capacity(
            category="8705", actual_capacity=MIN_MEASURE, maximum_capacity=MIN_MEASURE
        ),
        *(
            factories.order(order_id=f"PO-MAX-{n}", quantity=MAX_MEASURE, **PROBLEM_WEEK)
            for n in range(2)
        ),
    )
    for n in range(8):
        network.publish(
            factories.shipment(
                shipment_id=f"SH-BIG-{n}",
                corridor=CORRIDOR,
                order_ids=[
                    f"PO-{n}-{i:04d}".ljust(MAX_ID_LENGTH, "x") for i in range(MAX_ORDER_IDS)
                ],
            )
        )
    network.publish(factories.shipment(shipment_id="SH-AFTER"))  # 36 h late

    def latest() -> dict[str, Any]:
        return {a.alert_id: a for a in network.alerts()}

    network.wait_for(lambda: "SHIPMENT_DELAY|SH-AFTER" in latest(), "the alert after the poison")
    network.wait_for(lambda: len(network.read("dlq")) == 3, "three dead letters")
    letters = {r.key: r for r in network.read("dlq")}
    assert {k: r.value for k, r in letters.items()} == {k: v for k, (_, v) in refused.items()}
    reasons = {k: dict(r.headers)["error"].decode() for k, r in letters.items()}
    assert reasons == {
        b"PO-HUGE": "invalid-record",
        b"CAP-TINY": "invalid-record",
        b"PO-FAR": "schema-mismatch",
    }
    assert "quantity" in dict(letters[b"PO-HUGE"].headers)["error_message"].decode()
    assert "actual_capacity" in dict(letters[b"CAP-TINY"].headers)["error_message"].decode()

    alerts = latest()
    shortfall = alerts["CAPACITY_SHORTFALL|CN-QD-SCODA|8705|2026-12-07"]
    assert shortfall.severity.value == "CRITICAL"
    assert shortfall.metrics["demand"] == 2 * MAX_MEASURE
    assert all(math.isfinite(v) for v in shortfall.metrics.values())
    congestion = alerts[f"CORRIDOR_CONGESTION|{CORRIDOR}"]
    assert congestion.severity.value == "CRITICAL"
    assert len(congestion.impacted_shipments) == 8
    assert len(congestion.impacted_orders) == 50
    assert congestion.metrics["orders_not_listed"] == 8 * MAX_ORDER_IDS - 50
    assert "Not listed: 7950 more orders." in congestion.summary
    biggest = max(len(r.value) for r in network.read("alerts"))
    assert biggest < 64_000, biggest
    assert worker.proc.poll() is None
