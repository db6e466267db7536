"""The registry process on a real broker: HTTP answers, restarts, two instances on one topic,
and `parklink schemas register`."""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import await_service, run_parklink, stop_service, stop_services
from kafka.admin import NewTopic

from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.credentials import read_registry_users
from parklink.eventkit.lifecycle import free_port, spawn_module
from parklink.eventkit.schemas import schema_text

pytestmark = pytest.mark.broker

CT = "application/vnd.schemaregistry.v1+json"
Starter = Callable[[str], str]


@pytest.fixture
def start_registry(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """start(topic) -> (url, process, log path): a registry of our own on a free port;
    start(topic, count=n) -> a list of n of them on that topic, started side by side."""
    procs: list[subprocess.Popen[bytes]] = []

    def start_many(topic: str, count: int) -> list[tuple[str, subprocess.Popen[bytes], Path]]:
        started = []
        for _ in range(count):
            port = free_port()
            env = {
                "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
                "PARKLINK_REGISTRY_HOST": "127.0.0.1",
                "PARKLINK_REGISTRY_PORT": str(port),
                "PARKLINK_REGISTRY_TOPIC": topic,
                "PARKLINK_STATE_DIR": str(tmp_path),
            }
            log = tmp_path / f"registry-{port}.log"
            procs.append(spawn_module("parklink.registry", env, log))
            started.append((f"http://127.0.0.1:{port}", procs[-1], log))
        for url, proc, log in started:
            await_service("parklink.registry", proc, f"{url}/readyz", log)
        return started

    def start(topic: str, count: int | None = None) -> Any:
        started = start_many(topic, count or 1)
        return started if count is not None else started[0]

    yield start
    stop_services(procs)


@functools.cache
def http() -> httpx.Client:
    """A client logged in as the registry's admin (writes, config and deletes need it)."""
    users = read_registry_users(Path(os.environ["PARKLINK_REGISTRY_USERS_FILE"]))
    return httpx.Client(auth=("admin", users["admin"][1]))


def record(name: str, *extra: dict[str, Any]) -> str:
    fields = [{"name": "id", "type": "string"}, *extra]
    return json.dumps({"type": "record", "name": name, "fields": fields})


def post(url: str, body: Any) -> httpx.Response:
    return http().post(url, content=json.dumps(body), headers={"Content-Type": CT})


def snapshot(url: str) -> dict[str, Any]:
    """Everything a client can see: subjects with their versions, ids and schemas, configs."""
    view: dict[str, Any] = {"config": httpx.get(f"{url}/config").json()}
    for subject in httpx.get(f"{url}/subjects", params={"deleted": "true"}).json():
        versions = httpx.get(f"{url}/subjects/{subject}/versions", params={"deleted": "true"})
        view[subject] = [
            httpx.get(f"{url}/subjects/{subject}/versions/{v}", params={"deleted": "true"}).json()
            for v in versions.json()
        ]
    return view


def populate(url: str, tag: str) -> None:
    for n, extra in enumerate(([], [{"name": "note", "type": "string", "default": ""}]), start=1):
        r = post(f"{url}/subjects/{tag}.orders-value/versions", {"schema": record("O", *extra)})
        assert r.status_code == 200, r.text
        assert n in httpx.get(f"{url}/subjects/{tag}.orders-value/versions").json()
    r = post(f"{url}/subjects/{tag}.shipments-value/versions", {"schema": record("S")})
    assert r.status_code == 200
    assert (
        http().put(f"{url}/config/{tag}.shipments-value", json={"compatibility": "FULL"}).is_success
    )
    assert http().delete(f"{url}/subjects/{tag}.orders-value/versions/1").json() == 1


def test_restart_keeps_subjects_versions_and_ids(start_registry: Callable[..., Any]) -> None:
    topic = f"_schemas.restart.{uuid.uuid4().hex[:8]}"
    url, proc, log = start_registry(topic)
    populate(url, "r")
    before = snapshot(url)
    assert before["r.orders-value"][1]["id"] == 2
    stop_service(proc)
    # uvicorn re-raises SIGTERM after its graceful shutdown, which closed the Kafka clients.
    assert proc.returncode in (0, -signal.SIGTERM)
    assert "schema store closed" in log.read_text()

    url, _, _ = start_registry(topic)
    assert snapshot(url) == before
    # Registering an existing schema again after the restart keeps its id; new ids go on.
    r = post(
        f"{url}/subjects/r.orders-value/versions",
        {"schema": record("O", {"name": "note", "type": "string", "default": ""})},
    )
    assert r.json() == {"id": 2}
    r = post(f"{url}/subjects/r.other-value/versions", {"schema": record("X")})
    assert r.json() == {"id": 4}


def test_two_instances_on_one_topic_agree(start_registry: Callable[..., Any]) -> None:
    topic = f"_schemas.pair.{uuid.uuid4().hex[:8]}"
    (a, _, _), (b, _, _) = start_registry(topic, count=2)
    populate(a, "p")
    # Writes through b are read back by b before it answers, and land after a's.
    r = post(
        f"{b}/subjects/p.orders-value/versions",
        {"schema": record("O", {"name": "x", "type": "int", "default": 0})},
    )
    assert r.json() == {"id": 4}
    same = post(f"{b}/subjects/p.shipments-value/versions", {"schema": record("S")})
    assert same.json() == {"id": 3}
    # b answered only after reading its own write; a follows the same topic.
    latest = httpx.get(f"{b}/subjects/p.orders-value/versions/latest").json()
    for _ in range(50):
        if httpx.get(f"{a}/subjects/p.orders-value/versions/latest").json() == latest:
            break
        httpx.get(f"{a}/healthz")  # give a's reader a moment without sleeping blindly
    assert snapshot(a) == snapshot(b)


def test_bad_input_answers_and_stores_nothing(registry_url: str) -> None:
    subject = f"bad{uuid.uuid4().hex[:8]}-value"
    base = f"{registry_url}/subjects/{subject}"
    assert post(f"{base}/versions", {"schema": record("B")}).status_code == 200
    before = snapshot(registry_url)

    def answer(resp: httpx.Response) -> tuple[int, int]:
        assert resp.headers["content-type"].startswith(CT)
        return resp.status_code, resp.json()["error_code"]

    cases = {
        "not JSON": http().post(f"{base}/versions", content=b"{nope", headers={"Content-Type": CT}),
        "invalid Avro": post(f"{base}/versions", {"schema": '{"type": "record", "name": "B"}'}),
        "1 MB schema": post(
            f"{base}/versions",
            {"schema": record("B", {"name": "big", "type": "string", "doc": "x" * 1_000_000})},
        ),
        "incompatible": post(
            f"{base}/versions", {"schema": record("B", {"name": "m", "type": "int"})}
        ),
        "unknown level": http().put(
            f"{registry_url}/config/{subject}", json={"compatibility": "SOMETIMES"}
        ),
        "unknown subject": httpx.get(f"{registry_url}/subjects/nope-{subject}/versions"),
        "unknown version": httpx.get(f"{base}/versions/42"),
        "unknown id": httpx.get(f"{registry_url}/schemas/ids/987654"),
        "version 0": httpx.get(f"{base}/versions/0"),
        "version abc": httpx.get(f"{base}/versions/abc"),
        "delete version abc": http().delete(f"{base}/versions/abc"),
        "lookup unknown schema": post(base, {"schema": record("Other")}),
    }
    expected = {
        "not JSON": (422, 422),
        "invalid Avro": (422, 42201),
        "1 MB schema": (413, 413),
        "incompatible": (409, 409),
        "unknown level": (422, 42203),
        "unknown subject": (404, 40401),
        "unknown version": (404, 40402),
        "unknown id": (404, 40403),
        "version 0": (422, 42202),
        "version abc": (422, 42202),
        "delete version abc": (422, 42202),
        "lookup unknown schema": (404, 40403),
    }
    assert {k: answer(v) for k, v in cases.items()} == expected
    assert "too large" in cases["1 MB schema"].json()["message"]
    assert "'m'" in cases["incompatible"].json()["message"]
    assert snapshot(registry_url) == before


def test_content_types_raw_schema_and_ops(registry_url: str) -> None:
    subject = f"ct{uuid.uuid4().hex[:8]}-value"
    text = record("C")
    for content_type in (CT, "application/json", "application/octet-stream"):
        r = http().post(
            f"{registry_url}/subjects/{subject}/versions",
            content=json.dumps({"schema": text}),
            headers={"Content-Type": content_type},
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith(CT)
    raw = httpx.get(f"{registry_url}/subjects/{subject}/versions/1/schema")
    assert raw.text == text
    schema_id = httpx.get(f"{registry_url}/subjects/{subject}/versions/latest").json()["id"]
    assert httpx.get(f"{registry_url}/schemas/ids/{schema_id}/subjects").json() == [subject]
    assert httpx.get(f"{registry_url}/schemas/types").json() == ["AVRO"]
    assert httpx.get(f"{registry_url}/mode").json() == {"mode": "READWRITE"}
    verbose = post(
        f"{registry_url}/compatibility/subjects/{subject}/versions/latest?verbose=true",
        {"schema": record("C", {"name": "q", "type": "int"})},
    ).json()
    assert verbose["is_compatible"] is False and "'q'" in verbose["messages"][0]
    assert httpx.get(f"{registry_url}/healthz").status_code == 200
    assert "parklink_registry_requests_total" in httpx.get(f"{registry_url}/metrics").text


def _schemas_register(url: str, prefix: str) -> subprocess.CompletedProcess[str]:
    env = {"PARKLINK_REGISTRY_URL": url, "PARKLINK_TOPIC_PREFIX": prefix}
    return run_parklink(env, "schemas", "register", timeout=120)


def test_schemas_register_command(registry_url: str) -> None:
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    catalog = load_catalog()
    first = _schemas_register(registry_url, prefix)
    assert first.returncode == 0, first.stderr
    for spec in catalog.topics.values():
        if spec.value:
            assert f"{spec.subject(prefix)} → id " in first.stdout
            latest = httpx.get(f"{registry_url}/subjects/{spec.subject(prefix)}/versions/latest")
            assert json.loads(latest.json()["schema"]) == json.loads(schema_text(spec.value))
    again = _schemas_register(registry_url, prefix)
    assert again.stdout == first.stdout  # same ids and versions

    # An earlier, incompatible ShipmentEvent under a fresh prefix stops the command.
    prefix = f"cli{uuid.uuid4().hex[:8]}."
    subject = catalog["shipments"].subject(prefix)
    old = json.loads(schema_text("ShipmentEvent"))
    old["fields"] = [f for f in old["fields"] if f["name"] != "corridor"]
    old["fields"].append({"name": "corridor", "type": "int"})
    assert post(
        f"{registry_url}/subjects/{subject}/versions", {"schema": json.dumps(old)}
    ).is_success
    failed = _schemas_register(registry_url, prefix)
    assert failed.returncode == 1
    (line,) = [x for x in failed.stderr.splitlines() if x.startswith("error:")]
    assert line.startswith(f"error: ShipmentEvent is incompatible with what {subject} holds")
    assert "'corridor'" in line


def test_a_poisoned_store_record_is_skipped_and_the_registry_gets_ready(
    start_registry: Callable[..., Any], kafka_bootstrap: str
) -> None:
    """Someone with write access to the store topic left a schema nested 500 deep in it
    (enough to blow a recursive parser): the replay logs it, skips it, and serves the rest."""
    from parklink.eventkit import bus

    topic = f"_schemas.poison.{uuid.uuid4().hex[:8]}"
    deep = '{"type": "record", "name": "R0", "fields": []}'
    for i in range(1, 500):
        deep = f'{{"type": "record", "name": "R{i}", "fields": [{{"name": "f", "type": {deep}}}]}}'
    key = json.dumps({"keytype": "SCHEMA", "subject": "p-value", "version": 1, "magic": 1})
    value = json.dumps({"subject": "p-value", "version": 1, "id": 1, "schema": deep})
    client = bus.admin(kafka_bootstrap.split(","))
    try:
        client.create_topics([NewTopic(topic, 1, 1, topic_configs={"cleanup.policy": "compact"})])
    finally:
        client.close()
    producer = bus.producer(kafka_bootstrap.split(","))
    try:
        producer.send(topic, key=key.encode(), value=value.encode(), partition=0).get(15)
    finally:
        producer.close()
    url, _proc, log = start_registry(topic)
    assert httpx.get(f"{url}/subjects").json() == []
    assert "ignored record at offset 0" in log.read_text()
    r = post(f"{url}/subjects/p-value/versions", {"schema": record("P")})
    assert r.status_code == 200, r.text
