"""The console as a process on a real broker and registry: alerts published to the topic show
up, a deleted database is rebuilt from the topic, webhooks are retried and survive restarts,
SSE pushes live updates (not silenced ones) and forgets clients that leave."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from factories import alert, resolved
from integration.console.harness import Console, Publisher, Receiver, wait_for

from parklink.console.signing import verify

pytestmark = pytest.mark.broker


def _current(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in i.items() if k != "received_at"} for i in items]


def test_alerts_show_up_and_a_deleted_database_is_rebuilt(
    console: Console, publisher: Publisher
) -> None:
    firing = alert()
    publisher.publish(
        firing,
        alert(subject="SH-2", severity="CRITICAL"),
        alert(type="PARK_SILENT", subject="PK-ISB-SEZ", corridor=None, parks=["PK-ISB-SEZ"]),
        resolved(firing),
    )
    wait_for(
        lambda: (
            console.get("/v1/alerts", status="RESOLVED")["total"] == 1
            and console.get("/v1/alerts")["total"] == 3
        ),
        "the console to read the alerts",
    )
    before = _current(console.get("/v1/alerts")["items"])
    # Its lag on the alerts topic, from the position it stored: nothing left to read.
    lag = wait_for(lambda: _caught_up(_lag(console)), "the console's consumer lag to be 0")
    assert lag and set(lag.values()) == {0.0}, lag
    detail = console.get("/v1/alerts/" + quote(firing.alert_id, safe=""))
    assert [h["status"] for h in detail["history"]] == ["FIRING", "RESOLVED"]

    console.stop()
    for db in console.state_dir.glob("console.db*"):
        db.unlink()
    console.start()
    wait_for(lambda: console.get("/v1/alerts")["total"] == 3, "the rebuild")
    wait_for(lambda: _current(console.get("/v1/alerts")["items"]) == before, "the same state")


def _lag(console: Console) -> dict[str, float]:
    """parklink_consumer_lag of the console, by partition label (empty until measured)."""
    body = httpx.get(f"{console.url}/metrics", timeout=10).text
    out = {}
    for line in body.splitlines():
        if line.startswith('parklink_consumer_lag{group="console"'):
            labels, value = line.rsplit(" ", 1)
            out[labels] = float(value)
    return out


def _caught_up(lag: dict[str, float]) -> dict[str, float] | None:
    return lag if lag and set(lag.values()) == {0.0} else None


SECRET = "whsec-test-0123456789abcdef"


def test_webhook_is_delivered_on_the_fourth_attempt_with_a_valid_signature(
    console: Console,
    publisher: Publisher,
    receiver_factory: Callable[[Callable[[int], bool]], Receiver],
) -> None:
    receiver = receiver_factory(lambda n: n < 3)
    hook = console.post("/v1/webhooks", {"url": receiver.url, "secret": SECRET})
    publisher.publish(alert())
    deliveries = wait_for(
        lambda: [
            d
            for d in console.get(f"/v1/webhooks/{hook['webhook_id']}/deliveries")["items"]
            if d["status"] == "delivered"
        ],
        "the delivery",
    )
    assert deliveries[0]["attempts"] == 4
    assert [r[2] for r in receiver.requests] == [503, 503, 503, 200]
    headers, body, _ = receiver.requests[-1]
    ids = {h["X-ParkLink-Delivery"] for h, _, _ in receiver.requests}
    assert ids == {deliveries[0]["delivery_id"]}
    assert verify(
        SECRET, int(headers["X-ParkLink-Timestamp"]), body, headers["X-ParkLink-Signature"]
    )
    doc = json.loads(body)
    assert doc["event"] == "alert.firing"
    assert doc["alert"]["alert_id"] == "SHIPMENT_DELAY|SH-1"


def test_a_pending_webhook_survives_a_restart_and_is_delivered_once(
    console: Console,
    publisher: Publisher,
    receiver_factory: Callable[[Callable[[int], bool]], Receiver],
) -> None:
    up = threading.Event()
    receiver = receiver_factory(lambda _n: not up.is_set())
    hook = console.post("/v1/webhooks", {"url": receiver.url, "secret": SECRET})
    path = f"/v1/webhooks/{hook['webhook_id']}/deliveries"
    publisher.publish(alert())
    wait_for(lambda: len(receiver.requests) >= 2, "two failed attempts")
    console.stop()
    up.set()
    console.start()
    wait_for(lambda: receiver.delivered(), "the delivery after the restart")
    # Another restart after the success, then a second alert: the first is not sent again.
    console.stop()
    console.start()
    publisher.publish(alert(subject="SH-2"))
    wait_for(lambda: len(receiver.delivered()) >= 2, "the second alert's delivery")
    per_id: dict[str, int] = {}
    for headers, _, _ in receiver.delivered():
        per_id[headers["X-ParkLink-Delivery"]] = per_id.get(headers["X-ParkLink-Delivery"], 0) + 1
    assert sorted(per_id.values()) == [1, 1]
    statuses = {d["alert_id"]: d["status"] for d in console.get(path)["items"]}
    assert statuses == {"SHIPMENT_DELAY|SH-1": "delivered", "SHIPMENT_DELAY|SH-2": "delivered"}


def _sse_clients(console: Console) -> float:
    for line in httpx.get(console.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith("parklink_console_sse_clients "):
            return float(line.split()[1])
    raise AssertionError("no SSE clients gauge")


def test_stream_pushes_live_alerts_not_silenced_ones_and_forgets_clients(
    console: Console, publisher: Publisher
) -> None:
    assert httpx.get(console.url + "/v1/alerts/stream", timeout=10).status_code == 401
    console.post("/v1/silences", {"matchers": {"park": "PK-ISB-SEZ"}, "duration_minutes": 60})
    silent = alert(type="PARK_SILENT", subject="PK-ISB-SEZ", corridor=None, parks=["PK-ISB-SEZ"])
    events: list[tuple[str, dict[str, Any]]] = []
    with httpx.stream(
        "GET",
        console.url + "/v1/alerts/stream",
        params={"token": console.token},
        timeout=httpx.Timeout(10, read=30),
    ) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        wait_for(lambda: _sse_clients(console) == 1, "the client to be counted")
        publisher.publish(silent)
        stored = wait_for(
            lambda: console.get("/v1/alerts", type="PARK_SILENT")["items"], "the silenced alert"
        )
        assert stored[0]["silenced_by"] is not None
        publisher.publish(alert())
        event = None
        for line in resp.iter_lines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: ") and event == "alert":
                events.append((event, json.loads(line[len("data: ") :])))
                if events[-1][1]["alert_id"] == "SHIPMENT_DELAY|SH-1":
                    break
    assert [e[1]["alert_id"] for e in events] == ["SHIPMENT_DELAY|SH-1"]
    wait_for(lambda: _sse_clients(console) == 0, "the disconnected client to be dropped")
