"""The HTTP layer over an in-memory store: readiness gating, content type, error bodies."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from fastapi.testclient import TestClient

from parklink.eventkit.credentials import read_registry_users
from parklink.registry.app import CONTENT_TYPE, create_app
from parklink.registry.config import RegistrySettings
from parklink.registry.state import Record, RegistryState
from parklink.registry.store import KafkaStore


class FakeStore:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.problem = "replaying"
        self.state: RegistryState | None = None
        self.closed = False

    def start(self) -> None: ...

    def close(self) -> None:
        self.closed = True

    def write(self, records: Sequence[Record]) -> None:
        assert self.state is not None
        for key, value in records:
            self.state.apply(key, value)


def make(state_dir: Path, **settings: Any) -> tuple[TestClient, FakeStore]:
    store = FakeStore()
    users = state_dir / "secrets" / "registry" / "users.json"
    conf = RegistrySettings(state_dir=state_dir, registry_users_file=users, **settings)
    app = create_app(conf, store=cast(KafkaStore, store))  # the store interface, in memory
    store.state = app.state.registry.state
    return TestClient(app), store


def login(state_dir: Path, user: str) -> tuple[str, str]:
    users = read_registry_users(state_dir / "secrets" / "registry" / "users.json")
    return user, users[user][1]


def test_not_ready_until_replayed(tmp_path: Path) -> None:
    client, store = make(tmp_path)
    with client:
        assert client.get("/readyz").status_code == 503
        assert client.get("/healthz").status_code == 200
        early = client.get("/subjects")
        assert early.status_code == 503 and early.json()["error_code"] == 50001
        store.ready.set()
        assert client.get("/readyz").status_code == 200
        assert client.get("/subjects").json() == []
    assert store.closed


def test_answers_use_the_registry_content_type_and_error_body(tmp_path: Path) -> None:
    client, store = make(tmp_path)
    store.ready.set()
    with client:
        ok = client.post(
            "/subjects/a-value/versions",
            content='{"schema": "\\"string\\""}',
            headers={"Content-Type": "application/octet-stream"},
            auth=login(tmp_path, "writer"),
        )
        assert ok.json() == {"id": 1} and ok.headers["content-type"].startswith(CONTENT_TYPE)
        missing = client.get("/no/such/path")
        assert missing.status_code == 404 and missing.json()["error_code"] == 404
        bad = client.post(
            "/subjects/a-value/versions", content=b"\xff", auth=login(tmp_path, "writer")
        )
        assert (bad.status_code, bad.json()["error_code"]) == (422, 422)
        assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
