"""The live stream on a served console (real HTTP): it ends when its token is revoked or
expires, resumes after a reconnect with exactly the updates that were missed, and shows a
park operator only their park's alerts."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
from factories import T0, alert
from unit.console.served import PARK_A, PARK_B, Served

from parklink.eventkit.tokens import TokenStore

MAX_LINES = 400
"""A bound on what a test reads (keepalives come every 0.5 s): a stream that never does
what the test waits for fails it instead of hanging."""


@dataclass
class Event:
    id: str | None
    event: str
    data: Any


def _events(resp: httpx.Response) -> Iterator[Event]:
    """The stream's events; keepalive comments and `retry` are skipped."""
    fields: dict[str, str] = {}
    for n, line in enumerate(resp.iter_lines()):
        assert n < MAX_LINES, "the stream went on without what the test waits for"
        if line == "":
            if "event" in fields:
                yield Event(fields.get("id"), fields["event"], json.loads(fields["data"]))
            fields = {}
        elif not line.startswith(":"):
            key, _, value = line.partition(": ")
            fields[key] = value


def _open(served: Served, who: str, last_event_id: str | None = None) -> Any:
    headers = served.auth(who)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return httpx.stream(
        "GET",
        served.url + "/v1/alerts/stream",
        headers=headers,
        timeout=httpx.Timeout(10, read=20),
    )


def _first_alert(events: Iterator[Event]) -> Event:
    for ev in events:
        if ev.event == "alert":
            return ev
    raise AssertionError("the stream ended")


def _token_id(served: Served, who: str) -> str:
    return served.tokens[who].split("_")[1]


def test_revoking_the_token_ends_an_open_stream(served: Served) -> None:
    with _open(served, "park A operator") as resp:
        assert resp.status_code == 200
        events = _events(resp)
        served.feed(alert(subject="SH-A", parks=[PARK_A]))
        assert _first_alert(events).data["alert_id"] == "SHIPMENT_DELAY|SH-A"
        store = TokenStore.in_state_dir(served.state)  # as `parklink token revoke` does
        try:
            assert store.revoke(_token_id(served, "park A operator"))
        finally:
            store.close()
        started = time.monotonic()
        served.feed(alert(subject="SH-A2", parks=[PARK_A]))
        rest = [ev.data["alert_id"] for ev in events if ev.event == "alert"]
        took = time.monotonic() - started
    assert rest in ([], ["SHIPMENT_DELAY|SH-A2"]), rest  # sent before the next check or not
    print(f"stream ended {took:.1f} s after the revocation")
    again = httpx.get(served.url + "/v1/alerts/stream", headers=served.auth("park A operator"))
    assert again.status_code == 401


def test_an_expiring_token_ends_an_open_stream(served: Served) -> None:
    with _open(served, "viewer") as resp:
        assert resp.status_code == 200
        events = _events(resp)
        served.feed(alert())
        _first_alert(events)
        with sqlite3.connect(served.state / "tokens.db") as db:
            db.execute(
                "UPDATE tokens SET expires_at = ? WHERE token_id = ?",
                (time.time(), _token_id(served, "viewer")),
            )
        assert [ev.event for ev in events if ev.event != "alert"] == []


def test_a_reconnect_with_last_event_id_gets_exactly_what_was_missed(served: Served) -> None:
    served.feed(alert(subject="SH-0"))
    with _open(served, "operator") as resp:
        events = _events(resp)
        served.feed(alert(subject="SH-1"))
        seen = _first_alert(events)
    assert seen.data["alert_id"] == "SHIPMENT_DELAY|SH-1"
    assert seen.id is not None

    # Disconnected: three alerts change (a new one, a new state, an acknowledgement).
    served.feed(alert(subject="SH-2"))
    later = T0 + timedelta(hours=1)
    served.feed(alert(subject="SH-1", severity="CRITICAL", updated_at=later))
    ack = served.call(
        "operator", "POST", "/v1/alerts/" + quote("SHIPMENT_DELAY|SH-0", safe="") + "/ack", {}
    )
    assert ack.status_code == 201

    with _open(served, "operator", last_event_id=seen.id) as resp:
        events = _events(resp)
        missed = [_first_alert(events) for _ in range(3)]
        served.feed(alert(subject="SH-9"))  # a marker: whatever came before it is all there was
        after = _first_alert(events)
    assert [(e.data["alert_id"], e.data["severity"], e.data["acknowledged"]) for e in missed] == [
        ("SHIPMENT_DELAY|SH-2", "WARNING", False),
        ("SHIPMENT_DELAY|SH-1", "CRITICAL", False),
        ("SHIPMENT_DELAY|SH-0", "WARNING", True),
    ]
    assert after.data["alert_id"] == "SHIPMENT_DELAY|SH-9"
    ids = [int(e.id or 0) for e in [seen, *missed, after]]
    assert ids == sorted(set(ids)), ids


def test_a_last_event_id_the_console_never_gave_asks_the_client_to_reload(
    served: Served,
) -> None:
    served.feed(alert())
    with _open(served, "operator", last_event_id="999999") as resp:
        first = next(_events(resp))
    assert first.event == "reset"


def test_a_park_operators_stream_carries_only_their_parks_alerts(served: Served) -> None:
    with _open(served, "park B operator") as resp:
        events = _events(resp)
        served.feed(alert(subject="SH-A", parks=[PARK_A]))
        served.feed(alert(subject="SH-B", parks=[PARK_B]))
        assert _first_alert(events).data["alert_id"] == "SHIPMENT_DELAY|SH-B"
