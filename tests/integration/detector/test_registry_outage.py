"""A schema registry that is down is not a reason to set records aside: with the registry
stopped for 60 s while the detector reads records whose schema id it has not seen yet, no
record reaches the DLQ, and once the registry is back every expected alert appears."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import factories
import httpx
import pytest
from conftest import OwnRegistry
from integration.detector.conftest import CATALOG, Network

from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.serde import Serializer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]  # a 60 s outage on a busy machine

OUTAGE_S = 60
SHIPMENTS = 12


@pytest.fixture
def outage_network(
    kafka_bootstrap: str, topic_prefix: str, own_registry: OwnRegistry, tmp_path: Path
) -> Iterator[Network]:
    net = Network(kafka_bootstrap, topic_prefix, own_registry.url, tmp_path)
    try:
        yield net
    finally:
        net.close()


def test_a_registry_outage_dead_letters_nothing_and_loses_no_alert(
    outage_network: Network, own_registry: OwnRegistry
) -> None:
    network = outage_network
    worker = network.start()
    serializer = Serializer(
        network.registry, ShipmentEvent, CATALOG["shipments"].subject(network.prefix)
    )
    # Registered now, read by the detector only while the registry is down: it has never
    # decoded a shipment, so the schema id is not in its cache.
    records = [
        (event.key().encode(), serializer.serialize(event))
        for event in (
            factories.shipment(shipment_id=f"SH-OUT-{n}")  # each 36 h late
            for n in range(SHIPMENTS)
        )
    ]
    expected = {f"SHIPMENT_DELAY|SH-OUT-{n}" for n in range(SHIPMENTS)}

    own_registry.stop()
    for key, value in records:
        network.publish_raw("shipments", key, value)
    time.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
    assert worker.proc.poll() is None, worker.log.read_text()[-3000:]
    ready = httpx.get(f"{worker.url}/readyz", timeout=10)
    dlq_during = len(network.read("dlq"))
    own_registry.start()

    network.wait_for(
        lambda: expected <= {a.alert_id for a in network.alerts()},
        "every shipment's alert after the registry came back",
        timeout=240,
    )
    found = {a.alert_id for a in network.alerts()} & expected
    dlq = network.read("dlq")
    print(
        f"records sent: {len(records)} during a {OUTAGE_S} s registry outage; "
        f"DLQ records: {len(dlq)} (during the outage: {dlq_during}); "
        f"alerts expected: {len(expected)}, found: {len(found)}; "
        f"/readyz during the outage: {ready.status_code} {ready.text}"
    )
    assert ready.status_code == 503 and "registry" in ready.json()["problems"]
    assert dlq_during == 0
    assert dlq == []
    assert found == expected
    log = worker.log.read_text()
    assert "waits for the schema registry" in log
    assert "the schema registry answered after" in log
