"""A schema registry that is down is not a reason to set records aside: with the registry
stopped for 60 s while the detector reads records whose schema id it has not seen yet, no
record reaches the DLQ, and once the registry is back every expected alert appears."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import factories
import httpx
import pytest
from conftest import start_service, stop_service
from integration.detector.conftest import CATALOG, Network

from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.serde import Serializer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]  # a 60 s outage on a busy machine

OUTAGE_S = 60
SHIPMENTS = 12


class Registry:
    """A registry of the test's own on a fixed port and `_schemas` topic, to stop and start."""

    def __init__(self, bootstrap: str, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PARKLINK_KAFKA_BOOTSTRAP": bootstrap,
            "PARKLINK_REGISTRY_HOST": "127.0.0.1",
            "PARKLINK_REGISTRY_PORT": str(self.port),
            "PARKLINK_REGISTRY_TOPIC": f"_schemas.{uuid.uuid4().hex[:8]}",
            "PARKLINK_STATE_DIR": str(tmp / "registry"),
        }
        self.log = tmp / "registry.log"
        self.proc = start_service("parklink.registry", self.env, self.log, f"{self.url}/readyz")

    def stop(self) -> None:
        stop_service(self.proc)

    def start(self) -> None:
        self.proc = start_service("parklink.registry", self.env, self.log, f"{self.url}/readyz")


@pytest.fixture
def registry(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Registry]:
    own = Registry(kafka_bootstrap, tmp_path)
    try:
        yield own
    finally:
        own.stop()


@pytest.fixture
def outage_network(
    kafka_bootstrap: str, topic_prefix: str, registry: Registry, tmp_path: Path
) -> Iterator[Network]:
    net = Network(kafka_bootstrap, topic_prefix, registry.url, tmp_path)
    try:
        yield net
    finally:
        net.close()


def test_a_registry_outage_dead_letters_nothing_and_loses_no_alert(
    outage_network: Network, registry: Registry
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

    registry.stop()
    for key, value in records:
        network.publish_raw("shipments", key, value)
    time.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
    assert worker.proc.poll() is None, worker.log.read_text()[-3000:]
    ready = httpx.get(f"{worker.url}/readyz", timeout=10)
    dlq_during = len(network.read("dlq"))
    registry.start()

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
