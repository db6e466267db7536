"""Registry access by role (HTTP Basic), the streamed body limit and the nesting limit, over
the HTTP layer with an in-memory store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from unit.registry.test_app import login, make

from parklink.registry.compatibility import InvalidSchema, parse
from parklink.registry.state import RegistryState

SCHEMA = json.dumps({"schema": json.dumps({"type": "record", "name": "A", "fields": []})})
OTHER = json.dumps({"schema": json.dumps({"type": "record", "name": "B", "fields": []})})


def nested(depth: int) -> str:
    """A record schema whose field types nest `depth` records deep."""
    schema = '{"type": "record", "name": "R0", "fields": []}'
    for i in range(1, depth):  # as text: json.dumps itself would recurse too deep at 500
        schema = (
            f'{{"type": "record", "name": "R{i}", "fields": [{{"name": "f", "type": {schema}}}]}}'
        )
    return schema


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    client, store = make(tmp_path)
    store.ready.set()
    with client:
        yield client


def test_anonymous_reads_but_never_writes(client: TestClient, tmp_path: Path) -> None:
    assert client.get("/subjects").status_code == 200
    denied = client.post("/subjects/s-value/versions", content=SCHEMA)
    assert denied.status_code == 401 and denied.json()["error_code"] == 40101
    assert denied.headers["www-authenticate"].startswith("Basic")
    for method, path in [
        ("DELETE", "/subjects/s-value?permanent=true"),
        ("DELETE", "/subjects/s-value/versions/1"),
        ("PUT", "/config"),
        ("PUT", "/config/s-value"),
        ("DELETE", "/config"),
        ("PUT", "/mode"),
    ]:
        answer = client.request(method, path, content='{"compatibility": "NONE"}')
        assert answer.status_code == 401, (method, path, answer.text)


def test_reader_registers_only_what_is_there(client: TestClient, tmp_path: Path) -> None:
    reader, writer = login(tmp_path, "reader"), login(tmp_path, "writer")
    new = client.post("/subjects/s-value/versions", content=SCHEMA, auth=reader)
    assert new.status_code == 403 and new.json()["error_code"] == 40301
    made = client.post("/subjects/s-value/versions", content=SCHEMA, auth=writer)
    assert made.status_code == 200
    again = client.post("/subjects/s-value/versions", content=SCHEMA, auth=reader)
    assert again.json() == made.json()
    assert client.get("/subjects/s-value/versions", auth=reader).json() == [1]
    other = client.post("/subjects/s-value/versions", content=OTHER, auth=reader)
    assert other.status_code == 403
    assert client.get("/subjects/s-value/versions").json() == [1]


def test_deletes_and_config_are_for_admin_only(client: TestClient, tmp_path: Path) -> None:
    writer, admin = login(tmp_path, "writer"), login(tmp_path, "admin")
    client.post("/subjects/s-value/versions", content=SCHEMA, auth=writer)
    for role in ("reader", "writer"):
        who = login(tmp_path, role)
        assert client.delete("/subjects/s-value", auth=who).status_code == 403
        level = client.put("/config", content='{"compatibility": "NONE"}', auth=who)
        assert level.status_code == 403
    assert client.get("/subjects").json() == ["s-value"]
    assert client.get("/config").json() == {"compatibilityLevel": "BACKWARD"}
    assert client.put("/config", content='{"compatibility": "NONE"}', auth=admin).json() == {
        "compatibility": "NONE"
    }
    assert client.delete("/subjects/s-value", auth=admin).json() == [1]


def test_wrong_password_is_refused_even_for_reads(client: TestClient) -> None:
    for auth in [("reader", "guess"), ("nobody", "x")]:
        answer = client.get("/subjects", auth=auth)
        assert answer.status_code == 401
    bearer = client.get("/subjects", headers={"Authorization": "Bearer abc"})
    assert bearer.status_code == 401


def test_anonymous_reads_can_be_switched_off(tmp_path: Path) -> None:
    client, store = make(tmp_path, registry_anonymous_read=False)
    store.ready.set()
    with client:
        assert client.get("/subjects").status_code == 401
        assert client.get("/subjects", auth=login(tmp_path, "reader")).status_code == 200
        assert client.get("/healthz").status_code == 200


def test_body_is_cut_off_at_the_limit(client: TestClient, tmp_path: Path) -> None:
    writer = login(tmp_path, "writer")
    huge = b'{"schema": "' + b"x" * (2 * 256 * 1024 + 70 * 1024) + b'"}'
    declared = client.post("/subjects/s-value/versions", content=huge, auth=writer)
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit applies while reading
        yield b'{"schema": "'
        for _ in range(100):
            yield b"x" * 8192
        yield b'"}'

    streamed = client.post("/subjects/s-value/versions", content=chunks(), auth=writer)
    assert streamed.status_code == 413
    assert client.get("/subjects").json() == []


def test_deep_nesting_is_a_422(client: TestClient, tmp_path: Path) -> None:
    writer = login(tmp_path, "writer")
    deep = json.dumps({"schema": nested(40)})  # about 160 JSON levels
    answer = client.post("/subjects/s-value/versions", content=deep, auth=writer)
    assert (answer.status_code, answer.json()["error_code"]) == (422, 42201)
    body = "[" * 5000 + "]" * 5000
    answer = client.post("/subjects/s-value/versions", content=body, auth=writer)
    assert answer.status_code == 422
    fine = client.post(
        "/subjects/s-value/versions", content=json.dumps({"schema": nested(5)}), auth=writer
    )
    assert fine.status_code == 200


def test_a_poisoned_store_record_is_skipped() -> None:
    with pytest.raises(InvalidSchema, match="nested deeper"):
        parse(nested(500))
    state = RegistryState()
    key = json.dumps({"keytype": "SCHEMA", "subject": "s-value", "version": 1}).encode()
    value = json.dumps({"id": 1, "schema": nested(500), "subject": "s-value", "version": 1})
    assert state.apply(key, value.encode()) is False
    assert state.apply(b"[" * 100_000, b"{}") is False
    assert state.subject_names() == []
