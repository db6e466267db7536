"""The alerts API on real storage (SQLite and PostgreSQL, a fresh database per test; see
conftest.py), without Kafka: alerts are fed to the store the way the consumer does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from factories import T0, alert, resolved
from fastapi.testclient import TestClient
from unit.console.served import Delivered, StubResolver

from parklink.console.app import create_app
from parklink.console.config import ConsoleSettings
from parklink.console.runtime import Runtime
from parklink.console.storage import Applied, Incoming
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.tokens import Role, TokenStore

TOPIC = "alliance.alerts.v1"


class Console:
    def __init__(self, client: TestClient, runtime: Runtime, token: str, park_token: str):
        self.client, self.runtime = client, runtime
        self.auth = {"Authorization": f"Bearer {token}"}
        self.park_auth = {"Authorization": f"Bearer {park_token}"}
        self._offset = 0

    def feed(self, *alerts: DisruptionAlert) -> list[Applied]:
        recs = []
        for a in alerts:
            recs.append(Incoming(a, 0, self._offset))
            self._offset += 1
        applied = self.runtime.store.apply(TOPIC, recs, datetime.now(UTC))
        self.runtime.notify(applied)
        return applied

    def get(self, path: str, **params: Any) -> Any:
        resp = self.client.get(path, params=params, headers=self.auth)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(path, json=body, headers=self.auth)


@pytest.fixture
def console(tmp_path: Path, database_url: str) -> Iterator[Console]:
    settings = ConsoleSettings(
        state_dir=tmp_path,
        registry_url="http://127.0.0.1:9",
        database_url=database_url,
        webhook_allowed_targets="127.0.0.1:9",
    )
    tokens = TokenStore.in_state_dir(tmp_path)
    op = tokens.issue(Role.OPERATOR, "alice")
    park = tokens.issue(Role.PARK, "KZ-ALA-IPA")
    tokens.close()
    app = create_app(
        settings, consume=False, resolver=StubResolver(), transport=Delivered().transport
    )
    with TestClient(app) as client:
        yield Console(client, app.state.runtime, op, park)


def _path(alert_id: str) -> str:
    return "/v1/alerts/" + quote(alert_id, safe="")


def _ids(page: dict[str, Any]) -> list[str]:
    return [i["alert_id"] for i in page["items"]]


def _five(console: Console) -> None:
    console.feed(
        alert(subject="SH-1", updated_at=T0 + timedelta(minutes=1)),
        alert(subject="SH-2", severity="CRITICAL", updated_at=T0 + timedelta(minutes=2)),
        resolved(alert(subject="SH-3"), after=timedelta(minutes=3)),
        alert(
            type="CAPACITY_SHORTFALL",
            subject="CN-QD-SCODA|8704|2026-12-07",
            corridor=None,
            parks=["CN-QD-SCODA"],
            updated_at=T0 + timedelta(minutes=4),
        ),
        alert(
            type="PARK_SILENT",
            subject="BY-MSK-GREATSTONE",
            severity="CRITICAL",
            corridor=None,
            parks=["BY-MSK-GREATSTONE"],
            updated_at=T0 + timedelta(minutes=5),
        ),
    )


def test_tokens_are_required_and_must_be_operators(console: Console) -> None:
    for path in ("/v1/alerts", "/v1/silences", "/v1/webhooks", "/v1/alerts/stream"):
        resp = console.client.get(path)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == "unauthorized"
        bad = console.client.get(path, headers={"Authorization": "Bearer plk_nope_nope"})
        assert bad.status_code == 401
        park = console.client.get(path, headers=console.park_auth)
        assert park.status_code == 403
        assert park.json()["error"]["code"] == "forbidden"
    ack = console.client.post(
        _path("SHIPMENT_DELAY|SH-1") + "/ack", json={}, headers=console.park_auth
    )
    assert ack.status_code == 403
    assert console.client.get("/healthz").status_code == 200


def test_filters(console: Console) -> None:
    _five(console)
    assert len(console.get("/v1/alerts")["items"]) == 5
    assert _ids(console.get("/v1/alerts", status="RESOLVED")) == ["SHIPMENT_DELAY|SH-3"]
    assert _ids(console.get("/v1/alerts", severity="CRITICAL")) == [
        "PARK_SILENT|BY-MSK-GREATSTONE",
        "SHIPMENT_DELAY|SH-2",
    ]
    assert _ids(console.get("/v1/alerts", type="CAPACITY_SHORTFALL,PARK_SILENT")) == [
        "PARK_SILENT|BY-MSK-GREATSTONE",
        "CAPACITY_SHORTFALL|CN-QD-SCODA|8704|2026-12-07",
    ]
    assert len(console.get("/v1/alerts", park="CN-QD-SCODA")["items"]) == 4
    assert len(console.get("/v1/alerts", corridor="QD-KHR-ALA-RAIL")["items"]) == 3
    since = (T0 + timedelta(minutes=4)).isoformat()
    assert len(console.get("/v1/alerts", since=since)["items"]) == 2
    page = console.get("/v1/alerts", status="FIRING", severity="WARNING", park="KZ-ALA-IPA")
    assert _ids(page) == ["SHIPMENT_DELAY|SH-1"]
    bad = console.client.get("/v1/alerts", params={"status": "BURNING"}, headers=console.auth)
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["path"] == "query.status"


def test_paging_follows_next_links_without_gaps_or_repeats(console: Console) -> None:
    _five(console)
    seen: list[str] = []
    page = console.get("/v1/alerts", limit=2)
    assert page["total"] == 5
    pages = 1
    while page["next"]:
        seen += _ids(page)
        resp = console.client.get(page["next"], headers=console.auth)
        page = resp.json()
        pages += 1
    seen += _ids(page)
    assert pages == 3
    assert len(seen) == len(set(seen)) == 5
    assert seen[0] == "PARK_SILENT|BY-MSK-GREATSTONE"
    filtered = console.get("/v1/alerts", limit=1, severity="CRITICAL")
    assert "severity=CRITICAL" in filtered["next"]


def test_history_of_a_firing_then_resolved_alert(console: Console) -> None:
    firing = alert()
    console.feed(firing, resolved(firing))
    console.feed(firing, resolved(firing))  # a replay of the topic
    doc = console.get(_path(firing.alert_id))
    assert doc["status"] == "RESOLVED"
    assert doc["resolved_at"] is not None
    assert [h["status"] for h in doc["history"]] == ["FIRING", "RESOLVED"]


def test_acknowledge(console: Console) -> None:
    console.feed(alert())
    resp = console.post(_path("SHIPMENT_DELAY|SH-1") + "/ack", {"comment": "rerouting via Almaty"})
    assert resp.status_code == 201
    assert resp.json()["by"] == "alice"
    doc = console.get(_path("SHIPMENT_DELAY|SH-1"))
    assert doc["acknowledged"] is True
    assert [(a["by"], a["comment"]) for a in doc["acks"]] == [("alice", "rerouting via Almaty")]
    assert console.get("/v1/alerts")["items"][0]["last_ack"]["comment"] == "rerouting via Almaty"
    # A new state of the alert needs a new acknowledgement.
    console.feed(alert(severity="CRITICAL", updated_at=T0 + timedelta(hours=1)))
    assert console.get(_path("SHIPMENT_DELAY|SH-1"))["acknowledged"] is False


def test_unknown_alert_is_404(console: Console) -> None:
    resp = console.client.get(_path("SHIPMENT_DELAY|NOPE"), headers=console.auth)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"
    assert console.post(_path("SHIPMENT_DELAY|NOPE") + "/ack", {}).status_code == 404


def test_a_silence_ending_in_the_past_or_after_9999_is_kept_not_a_500(console: Console) -> None:
    past = console.post(
        "/v1/silences", {"matchers": {"type": "PARK_SILENT"}, "expires_at": "2020-01-01T00:00:00Z"}
    )
    assert past.status_code == 201, past.text
    assert past.json()["active"] is False
    far = console.post(
        "/v1/silences",
        {"matchers": {"type": "PARK_SILENT"}, "expires_at": "9999-12-31T23:00:00-05:00"},
    )
    assert far.status_code == 201, far.text
    assert far.json()["active"] is True
    assert far.json()["expires_at"].startswith("9999-12-30")


@pytest.mark.parametrize(
    "body",
    [
        {"matchers": {}, "duration_minutes": 60},
        {"matchers": {"severity": "LOUD"}, "duration_minutes": 60},
        {"matchers": {"type": "PARK_SILENT"}},
        {"matchers": {"type": "PARK_SILENT"}, "duration_minutes": -5},
        {"matchers": {"type": "PARK_SILENT"}, "expires_at": "2020-01-01T00:00:00Z", "x": 1},
        {"matchers": {"colour": "red"}, "duration_minutes": 60},
        {"duration_minutes": 60},
    ],
)
def test_malformed_silence_is_422(console: Console, body: dict[str, Any]) -> None:
    resp = console.post("/v1/silences", body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_request"


def test_silenced_alerts_are_stored_but_not_pushed(console: Console) -> None:
    hook = console.post("/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}).json()
    resp = console.post(
        "/v1/silences",
        {"matchers": {"park": "BY-MSK-GREATSTONE"}, "duration_minutes": 30, "comment": "drill"},
    )
    assert resp.status_code == 201
    silence = resp.json()
    assert silence["active"] is True
    silent = alert(
        type="PARK_SILENT", subject="BY-MSK-GREATSTONE", corridor=None, parks=["BY-MSK-GREATSTONE"]
    )
    applied = console.feed(silent, alert())
    assert [a.pushed for a in applied] == [False, True]
    assert applied[0].silenced_by == silence["silence_id"]
    doc = console.get(_path(silent.alert_id))
    assert doc["silenced_by"] == silence["silence_id"]
    deliveries = console.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert [d["alert_id"] for d in deliveries] == ["SHIPMENT_DELAY|SH-1"]
    assert [s["silence_id"] for s in console.get("/v1/silences")["items"]] == [
        silence["silence_id"]
    ]
    gone = console.client.delete(f"/v1/silences/{silence['silence_id']}", headers=console.auth)
    assert gone.status_code == 204
    assert console.get("/v1/silences")["items"] == []
    assert len(console.get("/v1/silences", include_expired="true")["items"]) == 1
    assert console.get(_path(silent.alert_id))["silenced_by"] is None
    again = console.client.delete("/v1/silences/nope", headers=console.auth)
    assert again.status_code == 404


@pytest.mark.parametrize(
    "url", ["ftp://erp.example/x", "file:///etc/passwd", "erp.example/hook", "http://"]
)
def test_webhook_url_must_be_http(console: Console, url: str) -> None:
    resp = console.post("/v1/webhooks", {"url": url})
    assert resp.status_code == 422
    assert resp.json()["error"]["details"][0]["path"] == "body.url"


def test_webhook_crud_and_filters(console: Console) -> None:
    resp = console.post(
        "/v1/webhooks",
        {"url": "https://erp.example/hook", "matchers": {"severity": "CRITICAL"}},
    )
    assert resp.status_code == 201
    hook = resp.json()
    assert len(hook["secret"]) >= 16
    listed = console.get("/v1/webhooks")["items"]
    assert [h["webhook_id"] for h in listed] == [hook["webhook_id"]]
    assert "secret" not in listed[0]
    console.feed(alert(), alert(subject="SH-9", severity="CRITICAL"))
    deliveries = console.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
    assert [d["alert_id"] for d in deliveries] == ["SHIPMENT_DELAY|SH-9"]
    assert deliveries[0]["status"] in {"pending", "delivered"}  # the dispatcher may be quick
    gone = console.client.delete(f"/v1/webhooks/{hook['webhook_id']}", headers=console.auth)
    assert gone.status_code == 204
    missing = console.client.get(f"/v1/webhooks/{hook['webhook_id']}", headers=console.auth)
    assert missing.status_code == 404


def test_openapi_metrics_and_page(console: Console) -> None:
    spec = console.client.get("/openapi.json").json()
    params = spec["paths"]["/v1/alerts/stream"]["get"]["parameters"]
    assert "token" in [p["name"] for p in params]
    assert "/v1/alerts/{alert_id}/ack" in spec["paths"]
    error_body = {"$ref": "#/components/schemas/ErrorBody"}
    for path, ops in spec["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == error_body, (method, path, status)
            assert "401" in op["responses"], (method, path)
            ok = next(s for s in op["responses"] if s.startswith("2"))
            if ok != "204" and path != "/v1/alerts/stream":
                assert "$ref" in op["responses"][ok]["content"]["application/json"]["schema"]
    console.feed(alert(), alert(subject="SH-2", severity="CRITICAL"))
    text = console.client.get("/metrics").text
    assert 'parklink_console_alerts{severity="CRITICAL",status="FIRING"} 1.0' in text
    assert "parklink_console_sse_clients 0.0" in text
    page = console.client.get("/")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    timeline = console.get("/v1/alerts/timeline", hours=24, buckets=6)
    assert len(timeline["buckets"]) == 6


def test_text_with_nul_characters_is_422_on_every_backend(console: Console) -> None:
    """PostgreSQL cannot store NUL in text; the API refuses it instead of failing with 500."""
    console.feed(alert())
    cases: list[tuple[str, dict[str, Any], str]] = [
        (_path("SHIPMENT_DELAY|SH-1") + "/ack", {"comment": "a\x00b"}, "comment"),
        (
            "/v1/silences",
            {"matchers": {"type": "PARK_SILENT"}, "duration_minutes": 5, "comment": "\x00"},
            "comment",
        ),
        ("/v1/webhooks", {"url": "https://erp.example/h", "description": "x\x00"}, "description"),
    ]
    for path, body, field in cases:
        resp = console.post(path, body)
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"][0]["path"] == f"body.{field}"
    assert console.get(_path("SHIPMENT_DELAY|SH-1"))["acks"] == []
