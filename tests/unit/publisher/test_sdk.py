"""The Publisher's behaviour around validation, framing and delivery, with fakes."""

from datetime import timedelta

import factories
import pytest
from unit.publisher.fakes import FakeProducer, FakeRegistry

from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import OrderEvent
from parklink.eventkit.serde import Deserializer
from parklink.publisher import (
    DeliveryFailed,
    EventRejected,
    ForeignPark,
    Publisher,
    PublishError,
    sdk,
)

NOW = factories.T0 + timedelta(hours=1)


def _publisher(
    producer: FakeProducer,
    registry: FakeRegistry,
    park: str = "KZ-ALA-IPA",
    bounds: TimeBounds | None = None,
) -> Publisher:
    return Publisher(
        "127.0.0.1:1",
        registry,
        park,
        "x.",
        time_bounds=bounds,
        clock=lambda: NOW,
        kafka_producer=producer,
    )


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


def test_the_sdk_refuses_what_the_gateway_refuses() -> None:
    producer = FakeProducer()
    pub = _publisher(producer, FakeRegistry(), park="PK-ISB-SEZ")
    foreign_shipment = {**factories.SHIPMENT, "source_park": "PK-ISB-SEZ", "status": "DELIVERED"}
    with pytest.raises(ForeignPark) as err:
        pub.publish(foreign_shipment, kind="shipments")
    assert [(d["index"], d["rule"]) for d in err.value.details] == [(0, "shipment-party")]
    buyer = _publisher(producer, FakeRegistry())
    with pytest.raises(ForeignPark) as err:
        buyer.publish_many([factories.order(), factories.order(status="CONFIRMED")])
    assert [(d["index"], d["rule"], d["path"]) for d in err.value.details] == [
        (1, "order-status-side", "status")
    ]
    late = factories.order(event_time=NOW - timedelta(days=31))
    with pytest.raises(EventRejected) as rejected:
        buyer.publish_many([factories.order(), late])
    assert [(d["index"], d["path"]) for d in rejected.value.details] == [(1, "event_time")]
    with pytest.raises(EventRejected) as rejected:
        buyer.publish({**factories.ORDER, "quantity": 1.7e308}, kind="orders")
    assert rejected.value.details[0]["path"] == "quantity"
    assert producer.sent == []
    lenient = _publisher(producer, FakeRegistry(), bounds=TimeBounds(horizon=timedelta(days=60)))
    lenient.publish(late)
    assert lenient.flush() == 1


def test_a_park_logged_in_as_itself_writes_its_ingress_topics() -> None:
    producer, registry = FakeProducer(), FakeRegistry()
    pub = Publisher(
        "127.0.0.1:1",
        registry,
        "KZ-ALA-IPA",
        "x.",
        clock=lambda: NOW,
        ingress=True,
        kafka_producer=producer,
    )
    pub.publish(factories.order(order_id="PO-9"))
    pub.publish(factories.shipment(shipment_id="SH-9"))
    pub.flush()
    # Framed with the shared topic's subject: the relay passes the bytes on unchanged.
    assert [(t, k) for t, k, _ in producer.sent] == [
        ("x.ingress.KZ-ALA-IPA.orders.v1", b"PO-9"),
        ("x.ingress.KZ-ALA-IPA.shipments.v1", b"SH-9"),
    ]
    assert set(registry.subjects) == {"x.orders.v1-value", "x.shipments.v1-value"}


def _orders(first: int, count: int) -> list[OrderEvent]:
    return [factories.order(order_id=f"PO-{i}") for i in range(first, first + count)]


def test_acknowledged_records_are_let_go_before_the_flush() -> None:
    producer = FakeProducer(fail_keys={b"PO-5", b"PO-250"}, at_once=True)
    pub = _publisher(producer, FakeRegistry())
    failed = []
    for first in range(0, 300, 50):
        events = _orders(first, 50)
        failed += [e.event_id for e in events if e.order_id in ("PO-5", "PO-250")]
        pub.publish_many(events)
    assert producer.kept() == 0
    with pytest.raises(DeliveryFailed, match="2 of 300 event") as err:
        pub.flush()
    assert err.value.failed == failed
    pub.publish_many(_orders(300, 10))
    assert pub.flush() == 10
    pub.close()


def test_a_slow_record_does_not_keep_the_acknowledged_ones_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sdk, "PENDING_LIMIT", 100)
    producer = FakeProducer(held_keys={b"PO-0"}, at_once=True)
    pub = _publisher(producer, FakeRegistry())
    for first in range(0, 1000, 50):
        pub.publish_many(_orders(first, 50))
    assert 1 <= producer.kept() <= 150  # the held one, and those since the last look
    assert pub.flush() == 1000
    assert producer.kept() == 0
    pub.close()
