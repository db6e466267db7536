"""Poison records go to the DLQ with their reason and the worker goes on; a park that stops
publishing is reported silent by the wall clock and cleared when it publishes again."""

from __future__ import annotations

import struct

import factories
import httpx
import pytest
from integration.detector.conftest import Network

from parklink.eventkit.contracts import OrderEvent
from parklink.eventkit.schemas import parsed_schema, schema_text
from parklink.eventkit.serde import encode_body

pytestmark = pytest.mark.broker


def test_poison_records_land_in_the_dlq_and_the_worker_goes_on(network: Network) -> None:
    worker = network.start()
    subject = f"{network.topic('orders')}-value"
    schema_id = network.registry.register(subject, schema_text("OrderEvent"))
    negative = factories.order(order_id="PO-NEG").to_avro() | {"quantity": -5.0}
    poison = {
        b"PO-GARBAGE": b"\xde\xad\xbe\xef not avro at all",
        b"PO-WRONG-ID": struct.pack(">bI", 0, 987_654) + b"\x00\x01",
        b"PO-NEG": struct.pack(">bI", 0, schema_id)
        + encode_body(parsed_schema(OrderEvent.schema_name), negative),
    }
    for key, value in poison.items():
        network.publish_raw("orders", key, value)
    network.publish(factories.shipment(shipment_id="SH-AFTER"))  # 36 h late
    network.wait_for(
        lambda: any(a.alert_id == "SHIPMENT_DELAY|SH-AFTER" for a in network.alerts()),
        "the alert after the poison",
    )
    network.wait_for(lambda: len(network.read("dlq")) == 3, "three dead letters")
    letters = {r.key: r for r in network.read("dlq")}
    assert {k: r.value for k, r in letters.items()} == poison
    reasons = {k: dict(r.headers)["error"].decode() for k, r in letters.items()}
    assert reasons == {
        b"PO-GARBAGE": "wrong-magic-byte",
        b"PO-WRONG-ID": "unknown-schema-id",
        b"PO-NEG": "invalid-record",
    }
    neg = dict(letters[b"PO-NEG"].headers)
    assert neg["topic"].decode() == network.topic("orders")
    assert int(neg["offset"].decode()) >= 0
    assert "quantity" in neg["error_message"].decode()
    assert worker.proc.poll() is None
    metrics = httpx.get(f"{worker.url}/metrics").text
    assert 'parklink_detector_dlq_total{reason="invalid-record",topic="orders"} 1.0' in metrics


def test_a_silent_park_warns_then_turns_critical_then_clears(network: Network) -> None:
    network.start(
        PARKLINK_SILENT_WARNING_SECONDS="2",
        PARKLINK_SILENT_CRITICAL_SECONDS="6",
        PARKLINK_SILENT_CHECK_SECONDS="0.3",
    )
    quiet = {"source_park": "UZ-TAS-NAVOI", "park_id": "UZ-TAS-NAVOI"}
    network.publish(factories.capacity(**quiet))
    alert_id = "PARK_SILENT|UZ-TAS-NAVOI"

    def seen() -> list[tuple[str, str]]:
        return [
            (a.status.value, a.severity.value) for a in network.alerts() if a.alert_id == alert_id
        ]

    network.wait_for(lambda: ("FIRING", "CRITICAL") in seen(), "the park to turn critical")
    network.publish(factories.capacity(**quiet, actual_capacity=90))
    network.wait_for(lambda: seen()[-1][0] == "RESOLVED", "the silence to clear")
    assert seen() == [("FIRING", "WARNING"), ("FIRING", "CRITICAL"), ("RESOLVED", "CRITICAL")]


def test_a_foreign_record_on_an_internal_topic_is_dead_lettered_and_the_stages_go_on(
    network: Network,
) -> None:
    """Only the detector writes its own topics; anything else found there is set aside like
    a poison park record, and the stage behind it keeps working."""
    worker = network.start()
    internal = f"{network.prefix}{network.group}-week-batches"
    network.publish_to(internal, b"8704|2026-12-07", b"[{not json")
    network.publish(
        factories.capacity(),  # CN-QD-SCODA 8704: actual 100, maximum 130
        factories.order(order_id="PO-1", quantity=120),
    )
    shortfall = "CAPACITY_SHORTFALL|CN-QD-SCODA|8704|2026-12-07"
    network.wait_for(
        lambda: any(a.alert_id == shortfall for a in network.alerts()), "the shortfall"
    )
    network.wait_for(lambda: len(network.read("dlq")) == 1, "one dead letter")
    [letter] = network.read("dlq")
    headers = {k: v.decode() for k, v in letter.headers}
    assert (headers["topic"], headers["error"]) == (internal, "invalid-record")
    assert letter.value == b"[{not json"
    assert worker.proc.poll() is None
