"""A schema registry that is down is no reason for the relay to set a park's records aside:
with the registry stopped while records arrive on a park's ingress topic, the relay holds
them (not ready, its gauge at 1, nothing forwarded, nothing dead-lettered) and passes every
one on, in order, once the registry is back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import factories
import httpx
import pytest
from conftest import OwnRegistry, start_service, stop_service
from kafka import TopicPartition

from parklink.eventkit import access, bus, credentials
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import OrderEvent
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Serializer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(400)]

CATALOG = load_catalog()
PARK = "KZ-ALA-IPA"
OUTAGE_S = 20
RECORDS = 30


@pytest.fixture
def ingress(kafka_bootstrap: str, topic_prefix: str) -> Iterator[str]:
    """PARK admitted under the test's prefix; its ingress topic for orders."""
    client = bus.admin(kafka_bootstrap.split(","))
    try:
        access.admit_park(
            client, CATALOG, access.Names(prefix=topic_prefix), PARK, credentials.new_password()
        )
        yield access.ingress_topic(CATALOG, topic_prefix, PARK, "orders")
        access.expel_park(client, PARK)
    finally:
        client.close()


def read_to_end(bootstrap: str, topic: str) -> list[Any]:
    kafka = bus.consumer(bootstrap.split(","), group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in sorted(kafka.partitions_for_topic(topic))]
        ends = kafka.end_offsets(parts)
        kafka.assign(parts)
        kafka.seek_to_beginning(*parts)
        out: list[Any] = []
        while any(kafka.position(tp) < ends[tp] for tp in parts):
            for batch in kafka.poll(timeout_ms=500).values():
                out += batch
        return out
    finally:
        kafka.close()


def test_a_registry_outage_holds_the_relay_and_loses_or_reorders_nothing(
    kafka_bootstrap: str, topic_prefix: str, own_registry: OwnRegistry, ingress: str, tmp_path: Path
) -> None:
    orders, dlq = CATALOG["orders"].topic(topic_prefix), CATALOG["dlq"].topic(topic_prefix)
    schemas = RegistryClient(own_registry.url)
    serializer = Serializer(schemas, OrderEvent, CATALOG["orders"].subject(topic_prefix))
    # Registered now, first read by the relay while the registry is down: the relay has never
    # decoded an order, so the schema id is not in its cache.
    events = [factories.order(source_park=PARK, order_id=f"PO-OUT-{n}") for n in range(RECORDS)]
    values = [serializer.serialize(e) for e in events]
    schemas.close()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_REGISTRY_URL": own_registry.url,
        "PARKLINK_RELAY_PORT": str(port),
        "PARKLINK_RELAY_GROUP": f"relay-{topic_prefix.rstrip('.')}",
        "PARKLINK_RELAY_REFRESH_MS": "1000",
        "PARKLINK_LOG_LEVEL": "INFO",
    }
    log = tmp_path / "relay.log"
    relay = start_service("parklink.relay", env, log, f"{url}/readyz")
    try:
        own_registry.stop()
        producer = bus.producer(kafka_bootstrap.split(","))
        try:
            for value in values:  # one key: one partition, so the order is the sent order
                producer.send(ingress, key=b"PO-OUT", value=value)
            producer.flush(timeout=30)
        finally:
            producer.close(timeout=5)
        time.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
        assert relay.poll() is None, log.read_text()[-3000:]
        ready = httpx.get(f"{url}/readyz", timeout=10)
        scraped = httpx.get(f"{url}/metrics", timeout=10).text
        forwarded_during, dlq_during = (
            len(read_to_end(kafka_bootstrap, orders)),
            len(read_to_end(kafka_bootstrap, dlq)),
        )
        own_registry.start()

        deadline = time.monotonic() + 120
        forwarded = read_to_end(kafka_bootstrap, orders)
        while len(forwarded) < RECORDS and time.monotonic() < deadline:
            time.sleep(1)
            forwarded = read_to_end(kafka_bootstrap, orders)
        after = httpx.get(f"{url}/readyz", timeout=10)
        scraped_after = httpx.get(f"{url}/metrics", timeout=10).text
    finally:
        stop_service(relay)
    dead = read_to_end(kafka_bootstrap, dlq)
    text = log.read_text()
    print(
        f"records sent: {RECORDS} during a {OUTAGE_S} s registry outage; forwarded during it: "
        f"{forwarded_during}, after: {len(forwarded)}; DLQ: {len(dead)} (during: {dlq_during}); "
        f"/readyz during: {ready.status_code} {ready.text}; after: {after.status_code}"
    )
    assert ready.status_code == 503
    assert "records held until the registry answers" in ready.json()["problems"]["registry"]
    assert "parklink_relay_registry_waiting 1.0" in scraped
    assert forwarded_during == 0 and dlq_during == 0
    assert dead == []
    assert [r.value for r in forwarded] == values
    assert after.status_code == 200
    assert "parklink_relay_registry_waiting 0.0" in scraped_after
    assert f'parklink_relay_records_total{{outcome="forwarded",reason=""}} {RECORDS}.0' in (
        scraped_after
    )
    assert text.count("waits for the schema registry") == 1, text[-3000:]
    assert text.count("the schema registry answered again after") == 1
