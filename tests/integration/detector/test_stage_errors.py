"""A record that makes a stage raise goes to the DLQ with the stage and the error, nothing
it half-did reaches a topic, and the worker goes on: the next delayed shipment's alert
appears."""

from __future__ import annotations

from pathlib import Path

import factories
import httpx
import pytest
from integration.detector.conftest import Network

pytestmark = pytest.mark.broker

HOOK = Path(__file__).parent / "stage_hook"


def test_a_record_that_makes_a_stage_raise_is_dead_lettered_and_the_worker_goes_on(
    network: Network,
) -> None:
    worker = network.start(PYTHONPATH=str(HOOK))
    network.publish(
        factories.shipment(shipment_id="SH-RAISE"),  # 36 h late, but the stage raises
        factories.shipment(shipment_id="SH-AFTER"),  # 36 h late
    )
    network.wait_for(
        lambda: any(a.alert_id == "SHIPMENT_DELAY|SH-AFTER" for a in network.alerts()),
        "the alert of the shipment after the raising one",
    )
    network.wait_for(lambda: len(network.read("dlq")) == 1, "one dead letter")
    (letter,) = network.read("dlq")
    headers = {k: v.decode() for k, v in letter.headers}
    print(f"dead letter: {letter.key!r} {headers}")
    assert letter.key == b"SH-RAISE"
    assert headers["error"] == "stage-error"
    assert headers["topic"] == network.topic("shipments")
    assert headers["error_message"] == (
        "stage shipments raised ArithmeticError: injected failure on SH-RAISE"
    )
    assert [a.alert_id for a in network.alerts()] == ["SHIPMENT_DELAY|SH-AFTER"]
    assert worker.proc.poll() is None
    metrics = httpx.get(f"{worker.url}/metrics").text
    assert 'parklink_detector_dlq_total{reason="stage-error",topic="shipments"} 1.0' in metrics
