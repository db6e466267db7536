"""The gateway against a real broker and registry: what it accepts lands on the topic with the
right keys, decodable by standard Confluent clients; what it refuses writes nothing."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import factories
import httpx
import pytest
from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext
from conftest import confluent_conf, registry_conf
from integration.gateway.conftest import PARK, RunningGateway

from parklink.eventkit.contracts import now_utc
from parklink.eventkit.tokens import Role, TokenStore

pytestmark = pytest.mark.broker


def _orders(n: int, **over: Any) -> list[dict[str, Any]]:
    """Orders PARK places now (within the gateway's time bounds)."""
    now = now_utc()
    fields: dict[str, Any] = {"event_time": now, "due_date": (now + timedelta(days=14)).date()}
    fields.update(over)
    return [
        factories.order(source_park=PARK, order_id=f"PO-{i:04d}", **fields).to_json()
        for i in range(n)
    ]


def _read_all(gw: RunningGateway, registry_url: str, kind: str, expect: int) -> list[Any]:
    topic = f"{gw.prefix}{kind}.v1"
    decode = AvroDeserializer(SchemaRegistryClient(registry_conf(registry_url, "reader")))
    kafka = Consumer(
        confluent_conf(
            gw.bootstrap,
            **{
                "group.id": f"check-{topic}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": "false",
            },
        )
    )
    kafka.subscribe([topic])
    out: list[Any] = []
    idle = 0.0
    try:
        while idle < 10:
            msg = kafka.poll(1.0)
            if msg is None:
                idle += 1 if len(out) >= expect else 0.2
                continue
            assert msg.error() is None, msg.error()
            ctx = SerializationContext(topic, MessageField.VALUE)
            key = msg.key()
            assert key is not None
            out.append((key.decode(), decode(msg.value(), ctx)))
    finally:
        kafka.close()
    return out


def test_a_thousand_events_in_one_request_land_once_with_their_keys(
    gateway: RunningGateway, registry_url: str
) -> None:
    events = _orders(1000)
    resp = httpx.post(
        f"{gateway.url}/v1/events/orders", json=events, headers=gateway.headers, timeout=60
    )
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"accepted": 1000, "event_ids": [e["event_id"] for e in events]}
    assert sum(gateway.end_offsets("orders").values()) == 1000
    records = _read_all(gateway, registry_url, "orders", 1000)
    assert len(records) == 1000
    assert sorted((k, v["order_id"]) for k, v in records) == [
        (e["order_id"], e["order_id"]) for e in events
    ]
    by_id = {v["event_id"]: v for _, v in records}
    assert set(by_id) == {e["event_id"] for e in events}
    assert by_id[events[7]["event_id"]]["quantity"] == 120.0
    metrics = httpx.get(f"{gateway.url}/metrics").text
    assert "parklink_gateway_produce_seconds_count" in metrics


def _bad_requests(gw: RunningGateway) -> list[tuple[str, int, dict[str, Any]]]:
    ok = _orders(1)[0]
    store = TokenStore.in_state_dir(gw.state_dir)
    revoked = store.issue(Role.PARK, PARK)
    store.revoke(revoked.split("_")[1])
    store.close()
    missing = {k: v for k, v in ok.items() if k != "due_date"}
    batch = _orders(500)
    batch[499]["quantity"] = -5
    nan = json.dumps(ok).replace('"quantity": 120.0', '"quantity": NaN')
    auth = {"Authorization": f"Bearer {gw.token}"}
    json_type = {"Content-Type": "application/json"}
    cases: list[tuple[str, int, dict[str, Any]]] = [
        ("not JSON", 400, {"content": b"{oops", "headers": gw.headers}),
        (
            "content type",
            415,
            {"content": json.dumps(ok), "headers": {**auth, "Content-Type": "text/plain"}},
        ),
        ("no token", 401, {"json": ok}),
        ("unknown token", 401, {"json": ok, "headers": {"Authorization": "Bearer plk_0_x"}}),
        ("revoked token", 401, {"json": ok, "headers": {"Authorization": f"Bearer {revoked}"}}),
        ("other park", 403, {"json": {**ok, "source_park": "CN-QD-SCODA"}, "headers": auth}),
        ("missing field", 422, {"json": missing, "headers": auth}),
        ("wrong enum", 422, {"json": {**ok, "status": "SHIPPED"}, "headers": auth}),
        ("wrong type", 422, {"json": {**ok, "quantity": [1]}, "headers": auth}),
        ("NaN quantity", 422, {"content": nan, "headers": {**auth, **json_type}}),
        ("negative quantity", 422, {"json": {**ok, "quantity": -1}, "headers": auth}),
        ("string timestamp", 422, {"json": {**ok, "event_time": "last tuesday"}, "headers": auth}),
        ("empty array", 422, {"json": [], "headers": auth}),
        ("10,001 events", 413, {"json": _orders(1) * 10_001, "headers": auth}),
        (
            "20 MB body",
            413,
            {"content": b"[" + b" " * (20 * 1024 * 1024) + b"]", "headers": gw.headers},
        ),
        ("one bad in 500", 422, {"json": batch, "headers": auth}),
        # A park speaks only for itself: 403, whatever else the batch holds.
        ("not the buyer's status", 403, {"json": _orders(3, status="CONFIRMED"), "headers": auth}),
        ("not a party", 403, {"json": _orders(1, buyer_park="UZ-TAS-NAVOI"), "headers": auth}),
        # Bounds: 422.
        (
            "from the future",
            422,
            {"json": _orders(1, event_time=now_utc() + timedelta(hours=1)), "headers": auth},
        ),
        (
            "too old",
            422,
            {"json": _orders(1, event_time=now_utc() - timedelta(days=40)), "headers": auth},
        ),
        (
            "year 9999",
            422,
            {"json": {**ok, "event_time": "9999-12-31T23:00:00-05:00"}, "headers": auth},
        ),
        ("huge quantity", 422, {"json": [ok, {**ok, "quantity": 1.7e308}], "headers": auth}),
        ("NUL in an id", 422, {"json": {**ok, "order_id": "PO-\u0000"}, "headers": auth}),
        (
            "10,000 nested arrays",
            400,
            {"content": b"[" * 10_000 + b"]" * 10_000, "headers": gw.headers},
        ),
    ]
    return cases


def test_every_bad_request_gets_its_status_and_writes_nothing(gateway: RunningGateway) -> None:
    before = gateway.end_offsets("orders")
    with httpx.Client(base_url=gateway.url, timeout=60) as client:
        for label, status, kwargs in _bad_requests(gateway):
            resp = client.post("/v1/events/orders", **kwargs)
            assert resp.status_code == status, f"{label}: {resp.status_code} {resp.text[:300]}"
            error = resp.json()["error"]
            assert len(error["message"]) > 10, label
            if status == 422 and label == "one bad in 500":
                assert error["details"][0]["index"] == 499
                assert error["details"][0]["path"] == "quantity"
            if label == "not the buyer's status":
                assert [(d["index"], d["rule"]) for d in error["details"]] == [
                    (i, "order-status-side") for i in range(3)
                ]
            if label == "huge quantity":
                assert [(d["index"], d["path"]) for d in error["details"]] == [(1, "quantity")]
    assert gateway.end_offsets("orders") == before


def test_capacity_and_shipments_go_to_their_topics(gateway: RunningGateway) -> None:
    cap = factories.capacity(source_park=PARK, park_id=PARK).to_json()
    ship = factories.shipment(source_park=PARK).to_json()
    for kind, body in (("capacity", cap), ("shipments", ship)):
        resp = httpx.post(f"{gateway.url}/v1/events/{kind}", json=body, headers=gateway.headers)
        assert resp.status_code == 202, resp.text
        assert sum(gateway.end_offsets(kind).values()) == 1
