"""The Publisher's behaviour around validation, framing and delivery, with fakes."""

import factories
import pytest
from unit.publisher.fakes import FakeProducer, FakeRegistry

from parklink.eventkit.contracts import OrderEvent
from parklink.eventkit.serde import Deserializer
from parklink.publisher import DeliveryFailed, EventRejected, ForeignPark, Publisher, PublishError


def _publisher(producer: FakeProducer, registry: FakeRegistry, park: str = "KZ-ALA-IPA"):
    return Publisher("127.0.0.1:1", registry, park, "x.", kafka_producer=producer)  # type: ignore[arg-type]


def test_publish_frames_keys_and_routes_to_the_kind_topic() -> None:
    producer, registry = FakeProducer(), FakeRegistry()
    with _publisher(producer, registry) as pub:
        event = factories.order(order_id="PO-7")
        assert pub.publish(event) == event.event_id
        pub.publish({**factories.ORDER, "order_id": "PO-8"}, kind="orders")
        assert pub.flush() == 2
    assert producer.closed
    assert [(t, k) for t, k, _ in producer.sent] == [
        ("x.orders.v1", b"PO-7"),
        ("x.orders.v1", b"PO-8"),
    ]
    decoded = Deserializer(registry, OrderEvent).deserialize(producer.sent[0][2])
    assert decoded == event
    assert registry.subjects == {"x.orders.v1-value": 1}


def test_invalid_or_foreign_events_send_nothing() -> None:
    producer = FakeProducer()
    pub = _publisher(producer, FakeRegistry())
    bad = {**factories.ORDER, "quantity": -3}
    with pytest.raises(EventRejected) as err:
        pub.publish_many([factories.ORDER, bad], kind="orders")
    assert err.value.details[0]["index"] == 1
    with pytest.raises(ForeignPark):
        pub.publish(factories.order(source_park="CN-QD-SCODA"))
    with pytest.raises(PublishError, match="kind="):
        pub.publish(factories.ORDER)
    assert producer.sent == []
    pub.close()


def test_flush_names_the_events_kafka_did_not_take() -> None:
    producer = FakeProducer(fail_keys={b"PO-2"})
    pub = _publisher(producer, FakeRegistry())
    events = [factories.order(order_id=f"PO-{i}") for i in range(3)]
    pub.publish_many(events)
    with pytest.raises(DeliveryFailed) as err:
        pub.flush()
    assert err.value.failed == [events[2].event_id]
    assert pub.flush() == 0
    pub.close()


def test_park_id_must_look_like_one() -> None:
    with pytest.raises(PublishError, match="park id"):
        _publisher(FakeProducer(), FakeRegistry(), park="qingdao")
