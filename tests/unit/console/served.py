"""The console app served by uvicorn on a free port of 127.0.0.1 in a thread, on SQLite,
without Kafka: tests feed the store the way the consumer does and talk real HTTP to it
(Server-Sent Events need a real server; the test client buffers whole responses). Webhook
hosts resolve through a stub and deliveries go to an in-memory transport: nothing leaves
this machine."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from parklink.console.app import create_app
from parklink.console.config import ConsoleSettings
from parklink.console.runtime import Runtime
from parklink.console.storage import Applied, Incoming
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.tokens import Role, TokenStore

TOPIC = "alliance.alerts.v1"
PARK_A = "KZ-ALA-IPA"
PARK_B = "BY-MSK-GREATSTONE"
PUBLIC = "93.184.215.14"
"""The stub resolver's answer for public names; the in-memory transport means nothing
connects to it."""


class StubResolver:
    """`*.example` names are public, `*.loopback.test` resolve to 127.0.0.1 (a DNS name
    pointing inside), anything else does not resolve."""

    async def __call__(self, host: str, _port: int) -> list[str]:
        if host.endswith(".loopback.test"):
            return ["127.0.0.1"]
        if host.endswith(".example"):
            return [PUBLIC]
        raise OSError("no such host")


class Delivered:
    """The in-memory webhook receiver: every request the dispatcher sent."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(204)


class Served:
    def __init__(self, url: str, runtime: Runtime, tokens: dict[str, str], state: Path) -> None:
        self.url, self.runtime, self.tokens, self.state = url, runtime, tokens, state
        self._offset = 0
        # One client for every call: a new one per request loads the CA bundle again, which
        # made a matrix of 144 requests take 25 s on a busy machine.
        self.client = httpx.Client(timeout=10)

    def feed(self, *alerts: DisruptionAlert) -> list[Applied]:
        recs = []
        for a in alerts:
            recs.append(Incoming(a, 0, self._offset))
            self._offset += 1
        applied = self.runtime.store.apply(TOPIC, recs, datetime.now(UTC))
        self.runtime.notify(applied)
        return applied

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"} if who in self.tokens else {}

    def call(
        self, who: str, method: str, path: str, body: dict[str, Any] | None = None
    ) -> httpx.Response:
        self.client.cookies.clear()  # each call speaks only with its own token
        return self.client.request(method, self.url + path, json=body, headers=self.auth(who))


PEOPLE = ("operator", "park A operator", "park B operator", "viewer")


def issue_tokens(state: Path) -> dict[str, str]:
    """A token of every kind the console must tell apart."""
    store = TokenStore.in_state_dir(state)
    try:
        tokens = {
            "operator": store.issue(Role.OPERATOR, "olga"),
            "park A operator": store.issue(Role.PARK_OPERATOR, "anna", park=PARK_A),
            "park B operator": store.issue(Role.PARK_OPERATOR, "boris", park=PARK_B),
            "viewer": store.issue(Role.VIEWER, "victor"),
            "park publisher": store.issue(Role.PARK, PARK_A),
            "wrong token": "plk_000000000000_not-a-secret",
            "expired": store.issue(Role.OPERATOR, "ex"),
            "revoked": store.issue(Role.OPERATOR, "rev"),
        }
        store.revoke(tokens["revoked"].split("_")[1])
    finally:
        store.close()
    with sqlite3.connect(state / "tokens.db") as db:  # ran out a while ago
        db.execute(
            "UPDATE tokens SET expires_at = ? WHERE token_id = ?",
            (time.time() - 60, tokens["expired"].split("_")[1]),
        )
    return tokens


@pytest.fixture
def delivered() -> Delivered:
    return Delivered()


@pytest.fixture
def served(tmp_path: Path, delivered: Delivered) -> Iterator[Served]:
    state = tmp_path / "state"
    tokens = issue_tokens(state)
    settings = ConsoleSettings(
        state_dir=state,
        registry_url="http://127.0.0.1:9",
        sse_keepalive_s=0.5,
        sse_recheck_s=0.5,
        webhook_backoff_s=0.05,
    )
    app = create_app(
        settings, consume=False, resolver=StubResolver(), transport=delivered.transport
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="console-under-test", daemon=True)
    thread.start()
    for _ in range(500):  # bounded wait for the lifespan to finish starting
        if server.started:
            break
        time.sleep(0.02)
    assert server.started, "the console did not start"
    served = Served(f"http://127.0.0.1:{port}", app.state.runtime, tokens, state)
    try:
        yield served
    finally:
        served.client.close()
        server.should_exit = True
        thread.join(timeout=30)
