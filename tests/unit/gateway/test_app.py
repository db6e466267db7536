"""The gateway's HTTP behaviour with a stand-in for Kafka: every refusal has its status, the
JSON error body {"error": {"code", "message", "details"}} and sends nothing; the documents
describe the API and the topics."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import factories
import pytest
from fastapi.testclient import TestClient
from pgserver import started_server

from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import ParkEvent
from parklink.eventkit.database import engine_url
from parklink.eventkit.errors import DeliveryFailed
from parklink.eventkit.schemas import schema_dict
from parklink.eventkit.tokens import Role, TokenStore, TokensUnavailable
from parklink.gateway.app import EVENT_TIME_WINDOW, create_app
from parklink.gateway.config import GatewaySettings

PARK = "KZ-ALA-IPA"
NOW = factories.T0 + timedelta(hours=1)
"""The gateway's wall clock: the sample events happened in the hours before."""


class FakeSink:
    def __init__(self) -> None:
        self.published: list[tuple[str, list[ParkEvent]]] = []
        self.down = False
        self.closed = False

    async def publish(self, kind: str, events: Sequence[ParkEvent]) -> None:
        if self.down:
            raise DeliveryFailed("Kafka did not acknowledge within 1s")
        self.published.append((kind, list(events)))

    async def ready(self) -> dict[str, str]:
        return {"kafka": "down"} if self.down else {}

    def warm_up(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class Gateway:
    def __init__(self, tmp: Path, **limits: Any) -> None:
        self.tokens = TokenStore.in_state_dir(tmp)
        self.token = self.tokens.issue(Role.PARK, PARK)
        self.sink = FakeSink()
        self.now = 0.0
        settings = GatewaySettings(state_dir=tmp, topic_prefix="t.", **limits)
        app = create_app(settings, self.tokens, self.sink, lambda: self.now, lambda: NOW)
        self.client = TestClient(app)

    def post(self, kind: str, body: Any, token: str | None = "", **kw: Any) -> Any:
        headers = {"Content-Type": "application/json"}
        token = self.token if token == "" else token
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(kw.pop("headers", {}))
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(f"/v1/events/{kind}", content=content, headers=headers, **kw)


@pytest.fixture
def gw(tmp_path: Path) -> Iterator[Gateway]:
    g = Gateway(tmp_path)
    with g.client:
        yield g
    assert g.sink.closed


def _order(**over: Any) -> dict[str, Any]:
    return factories.order(**over).to_json()


def test_one_event_or_an_array_is_accepted(gw: Gateway) -> None:
    one = _order()
    resp = gw.post("orders", one)
    assert resp.status_code == 202
    assert resp.json() == {"accepted": 1, "event_ids": [one["event_id"]]}
    batch = [_order(order_id=f"PO-{i}") for i in range(3)]
    resp = gw.post("orders", batch)
    assert resp.json()["event_ids"] == [e["event_id"] for e in batch]
    assert [len(events) for _, events in gw.sink.published] == [1, 3]
    metrics = gw.client.get("/metrics").text
    assert 'parklink_gateway_events_accepted_total{kind="orders",park="KZ-ALA-IPA"} 4.0' in metrics


def _error(resp: Any, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return dict(error)


def test_bad_requests_are_refused_with_a_reason_and_send_nothing(gw: Gateway) -> None:
    ok = _order()
    _error(gw.post("orders", b"{not json"), 400, "bad_json")
    _error(
        gw.post("orders", ok, headers={"Content-Type": "text/csv"}), 415, "unsupported_media_type"
    )
    _error(gw.post("orders", ok, token=None), 401, "unauthorized")
    _error(gw.post("orders", ok, token="plk_abc_nope"), 401, "unauthorized")
    revoked = gw.tokens.issue(Role.PARK, PARK)
    gw.tokens.revoke(revoked.split("_")[1])
    assert "revoked" in _error(gw.post("orders", ok, token=revoked), 401, "unauthorized")["message"]
    operator = gw.tokens.issue(Role.OPERATOR, "ops")
    _error(gw.post("orders", ok, token=operator), 403, "not_a_park_token")
    foreign = _error(gw.post("orders", _order(source_park="CN-QD-SCODA")), 403, "foreign_park")
    assert foreign["details"][0]["path"] == "source_park"
    cap = {**factories.CAPACITY, "source_park": PARK}
    _error(gw.post("capacity", cap), 403, "foreign_park")
    missing = dict(ok)
    del missing["sku"]
    for bad, path in [
        (missing, "sku"),
        ({**ok, "status": "LOST"}, "status"),
        ({**ok, "order_id": 17}, "order_id"),
        ({**ok, "quantity": -1}, "quantity"),
        ({**ok, "due_date": "soon"}, "due_date"),
        ({**ok, "event_time": "not a time"}, "event_time"),
    ]:
        details = _error(gw.post("orders", bad), 422, "invalid_events")["details"]
        assert details[0]["index"] == 0
        assert details[0]["path"] == path
    nan = json.dumps(ok).replace('"quantity": 120.0', '"quantity": NaN').encode()
    assert _error(gw.post("orders", nan), 422, "invalid_events")["details"][0]["path"] == "quantity"
    _error(gw.post("orders", []), 422, "invalid_events")
    _error(gw.post("orders", [ok] * 10_001), 413, "batch_too_large")
    batch = [_order(order_id=f"PO-{i}") for i in range(500)]
    batch[250]["mode"] = "RAIL"
    details = _error(gw.post("orders", batch), 422, "invalid_events")["details"]
    assert [(d["index"], d["path"]) for d in details] == [(250, "mode")]
    assert gw.sink.published == []
    metrics = gw.client.get("/metrics").text
    assert 'reason="invalid_events"' in metrics


def _token(gw: Gateway, park: str) -> str:
    return gw.tokens.issue(Role.PARK, park)


def test_a_park_publishes_only_what_it_is_a_party_to(gw: Gateway) -> None:
    """403 with the item's index and the rule broken; nothing of the batch is sent."""
    isb = _token(gw, "PK-ISB-SEZ")
    khr = _token(gw, "KZ-KHR-ICBC")
    sh1 = factories.SHIPMENT
    cases: list[tuple[str, Any, str | None, str, str]] = [
        # (kind, body, token, rule, path): the token's park is PARK unless given
        (
            "shipments",
            {**sh1, "source_park": "PK-ISB-SEZ", "status": "DELIVERED"},
            isb,
            "shipment-party",
            "source_park",
        ),
        ("shipments", {**sh1, "source_park": "KZ-KHR-ICBC"}, khr, "shipment-party", "source_park"),
        ("orders", _order(buyer_park="UZ-TAS-NAVOI"), None, "order-party", "source_park"),
        ("orders", _order(status="CONFIRMED"), None, "order-status-side", "status"),
        ("orders", _order(status="FULFILLED"), None, "order-status-side", "status"),
        ("capacity", {**factories.CAPACITY, "source_park": PARK}, None, "own-park", "park_id"),
        ("orders", _order(source_park="CN-QD-SCODA"), None, "own-park", "source_park"),
    ]
    for kind, body, token, rule, path in cases:
        details = _error(gw.post(kind, body, token=token or ""), 403, "foreign_park")["details"]
        assert [(d["index"], d["rule"], d["path"]) for d in details] == [(0, rule, path)], body
    supplier = _token(gw, "CN-QD-SCODA")
    batch = [_order(source_park="CN-QD-SCODA", status=s) for s in ("CONFIRMED", "FULFILLED")]
    batch.append(_order(source_park="CN-QD-SCODA", status="CANCELLED"))
    error = _error(gw.post("orders", batch, token=supplier), 403, "foreign_park")
    assert [(d["index"], d["rule"]) for d in error["details"]] == [(2, "order-status-side")]
    assert "index 2" in error["message"]
    assert gw.sink.published == []
    # The same parties may say what is theirs to say.
    assert gw.post("orders", batch[:2], token=supplier).status_code == 202
    assert gw.post("orders", _order(status="AMENDED")).status_code == 202
    assert (
        gw.post("shipments", {**sh1, "source_park": "CN-QD-SCODA"}, token=supplier).status_code
        == 202
    )


def test_event_time_out_of_bounds_is_422_with_its_path(gw: Gateway) -> None:
    for when in (NOW + timedelta(minutes=11), NOW - timedelta(days=30, minutes=1)):
        batch = [_order(), _order(event_time=when.isoformat())]
        details = _error(gw.post("orders", batch), 422, "invalid_events")["details"]
        assert [(d["index"], d["path"], d["type"]) for d in details] == [
            (1, "event_time", "event_time_out_of_bounds")
        ]
    far = {**_order(), "event_time": "9999-12-31T23:00:00-05:00"}
    assert _error(gw.post("orders", far), 422, "invalid_events")["details"][0]["path"] == (
        "event_time"
    )
    assert (
        gw.post("orders", _order(event_time=(NOW + timedelta(minutes=9)).isoformat())).status_code
        == 202
    )
    assert (
        gw.post("orders", _order(event_time=(NOW - timedelta(days=29)).isoformat())).status_code
        == 202
    )


def test_the_skew_and_the_horizon_are_settings(tmp_path: Path) -> None:
    g = Gateway(tmp_path, event_time_skew_s=3600, event_time_horizon_s=3600)
    with g.client:
        assert (
            g.post(
                "orders", _order(event_time=(NOW + timedelta(minutes=50)).isoformat())
            ).status_code
            == 202
        )
        _error(
            g.post("orders", _order(event_time=(NOW - timedelta(hours=2)).isoformat())),
            422,
            "invalid_events",
        )


def test_crafted_input_gets_the_json_error_never_a_500(gw: Gateway) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    _error(gw.post("orders", deep), 400, "bad_json")
    ok = _order()
    cap = {**factories.CAPACITY, "source_park": "CN-QD-SCODA"}
    supplier = _token(gw, "CN-QD-SCODA")
    cases: list[tuple[str, dict[str, Any], str, str]] = [
        ("orders", {**ok, "quantity": 1.7e308}, "", "quantity"),
        ("orders", {**ok, "quantity": 1e-300}, "", "quantity"),
        ("orders", {**ok, "order_id": "PO-\u0000-1"}, "", "order_id"),
        ("orders", {**ok, "sku": "a\u001bb"}, "", "sku"),
        ("orders", {**ok, "sku": "x" * 201}, "", "sku"),
        ("orders", {**ok, "value": {"amount": 1e16, "currency": "CNY"}}, "", "value.amount"),
        ("orders", {**ok, "due_date": "9999-12-31"}, "", "due_date"),
        ("orders", {**ok, "due_date": "2100-01-01"}, "", "due_date"),
        ("capacity", {**cap, "actual_capacity": 5e-324}, supplier, "actual_capacity"),
        ("capacity", {**cap, "week_start": "1999-12-27"}, supplier, "week_start"),
        ("shipments", {**factories.SHIPMENT, "order_ids": ["PO-1"] * 1001}, "", "order_ids"),
        (
            "shipments",
            {**factories.SHIPMENT, "checkpoint": {"name": "x", "lat": 91, "lon": 0}},
            "",
            "checkpoint.lat",
        ),
        (
            "shipments",
            {**factories.SHIPMENT, "planned_arrival": "0001-01-01T00:00:00+05:00"},
            "",
            "planned_arrival",
        ),
    ]
    for kind, body, token, path in cases:
        resp = gw.post(kind, body, token=token)
        details = _error(resp, 422, "invalid_events")["details"]
        assert details[0]["index"] == 0
        assert details[0]["path"] == path, (path, details)
    assert gw.sink.published == []


def test_a_body_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    g = Gateway(tmp_path, gateway_max_body_bytes=1024 * 1024)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        for _ in range(20):
            yield b" " * (1024 * 1024)

    with g.client:
        by_length = g.post("orders", b" " * (20 * 1024 * 1024))
        _error(by_length, 413, "body_too_large")
        streamed = g.client.post(
            "/v1/events/orders",
            content=chunks(),
            headers={"Authorization": f"Bearer {g.token}", "Content-Type": "application/json"},
        )
        _error(streamed, 413, "body_too_large")
    assert g.sink.published == []


def test_rate_limit_per_park_with_retry_after(tmp_path: Path) -> None:
    g = Gateway(tmp_path, gateway_rate_per_s=10, gateway_rate_burst=20, gateway_max_batch=20)
    with g.client:
        assert g.post("orders", [_order(order_id=f"PO-{i}") for i in range(15)]).status_code == 202
        resp = g.post("orders", [_order(order_id=f"PO-{i}") for i in range(10)])
        _error(resp, 429, "rate_limited")
        assert resp.headers["Retry-After"] == "1"
        g.now += 1.0
        assert g.post("orders", [_order(order_id=f"PO-{i}") for i in range(10)]).status_code == 202


def test_kafka_down_is_503_and_readyz_says_so(gw: Gateway) -> None:
    gw.sink.down = True
    resp = gw.post("shipments", factories.shipment(source_park=PARK).to_json())
    assert "retry" in _error(resp, 503, "unavailable")["message"]
    assert resp.headers["Retry-After"]
    assert gw.client.get("/readyz").status_code == 503
    assert gw.client.get("/healthz").status_code == 200


def test_unknown_paths_use_the_error_body(gw: Gateway) -> None:
    _error(gw.client.post("/v1/events/alerts", json={}), 404, "not_found")
    _error(gw.client.get("/v1/events/orders"), 405, "method_not_allowed")


def test_openapi_documents_bodies_errors_and_dedup(gw: Gateway) -> None:
    doc = gw.client.get("/openapi.json").json()
    post = doc["paths"]["/v1/events/orders"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["oneOf"][0] == {"$ref": "#/components/schemas/OrderEvent"}
    assert schema["oneOf"][1]["maxItems"] == 10_000
    assert {"202", "400", "401", "403", "413", "415", "422", "429", "503"} <= set(post["responses"])
    assert "Money" in doc["components"]["schemas"]
    for name in ("OrderEvent", "ShipmentEvent", "CapacityEvent"):
        event_time = doc["components"]["schemas"][name]["properties"]["event_time"]
        assert event_time[EVENT_TIME_WINDOW] == {"ahead_s": 600.0, "behind_s": 30 * 86_400.0}
        assert "422" in event_time["description"]
    assert "event_time_out_of_bounds" in post["responses"]["422"]["description"]
    assert "de-duplicates by `event_id`" in doc["info"]["description"]


def test_asyncapi_is_generated_from_catalog_and_schemas(gw: Gateway) -> None:
    doc = gw.client.get("/asyncapi.json").json()
    assert doc["asyncapi"].startswith("3.")
    catalog = load_catalog()
    assert set(doc["channels"]) == set(catalog.topics)
    for role, spec in catalog.topics.items():
        channel = doc["channels"][role]
        assert channel["address"] == spec.topic("t.")
        assert channel["bindings"]["kafka"]["partitions"] == spec.partitions
        (name,) = channel["messages"]
        message = doc["components"]["messages"][name]
        assert spec.key in message["bindings"]["kafka"]["key"]["description"]
        if spec.value:
            assert message["payload"]["schema"] == schema_dict(spec.value)
        assert doc["operations"][f"receive_{role}"]["action"] == "receive"


def test_settings_refuse_a_burst_below_the_batch_limit() -> None:
    with pytest.raises(ValueError, match="burst"):
        GatewaySettings(gateway_rate_burst=10, gateway_max_batch=100)


def test_a_token_database_that_is_down_is_a_503_not_a_500(tmp_path: Path) -> None:
    """The tokens on a real PostgreSQL that stops while the gateway runs: the park is not
    refused (401) nor met with a failure (500), but told to come back (503, Retry-After)."""
    server = started_server()
    running = True
    try:
        tokens = TokenStore.open(engine_url(server.url("postgres")), cache_s=0)
        token = tokens.issue(Role.PARK, PARK)
        sink = FakeSink()
        settings = GatewaySettings(state_dir=tmp_path, topic_prefix="t.")
        app = create_app(settings, tokens, sink, lambda: 0.0, lambda: NOW)
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        with TestClient(app, raise_server_exceptions=False) as client:
            up = client.post("/v1/events/orders", json=_order(), headers=headers)
            server.stop()
            running = False
            with pytest.raises(TokensUnavailable):
                tokens.verify(token)
            down = client.post("/v1/events/orders", json=_order(), headers=headers)
    finally:
        if running:
            server.stop()
    assert up.status_code == 202, up.text
    error = _error(down, 503, "unavailable")
    assert "token database" in error["message"]
    assert down.headers["retry-after"] == "5"
    assert down.headers["content-type"] == "application/json"
    assert len(sink.published) == 1
