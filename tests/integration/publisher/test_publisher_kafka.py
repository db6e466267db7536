"""The SDK against a real broker and registry: what it publishes decodes back to the same
events, keyed by their entity (capacity: park_id|category|week_start)."""

from __future__ import annotations

import time

import factories
import pytest

from parklink.eventkit.bus import consumer
from parklink.eventkit.contracts import CapacityEvent, now_utc
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer
from parklink.publisher import EventRejected, Publisher

pytestmark = pytest.mark.broker

PARK = "CN-QD-SCODA"


def test_published_events_decode_back_with_their_keys(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str
) -> None:
    events = [
        factories.capacity(
            week_start=f"2026-12-{day:02d}", actual_capacity=100 + day, event_time=now_utc()
        )
        for day in (7, 14, 21)
    ]
    with Publisher(kafka_bootstrap, registry_url, PARK, topic_prefix) as pub:
        pub.publish_many(events)
        with pytest.raises(EventRejected):
            pub.publish({**factories.CAPACITY, "week_start": "2026-12-08"}, kind="capacity")
        assert pub.flush() == 3
    topic = f"{topic_prefix}capacity.v1"
    kafka = consumer(kafka_bootstrap.split(","), topic, group_id=f"g-{topic}")
    registry = RegistryClient(registry_url)
    decode = Deserializer(registry, CapacityEvent)
    got: dict[str, CapacityEvent] = {}
    deadline = time.monotonic() + 60  # joining the group takes long on a loaded machine
    try:
        while len(got) < len(events) and time.monotonic() < deadline:
            for batch in kafka.poll(timeout_ms=500).values():
                got.update((m.key.decode(), decode.deserialize(m.value)) for m in batch)
        for batch in kafka.poll(timeout_ms=1000).values():  # nothing more than was sent
            got.update((m.key.decode(), decode.deserialize(m.value)) for m in batch)
    finally:
        kafka.close()
        registry.close()
    assert got == {e.key(): e for e in events}
    assert sorted(got) == [f"{PARK}|8704|2026-12-{d:02d}" for d in (7, 14, 21)]
