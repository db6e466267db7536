"""Fixtures shared by every tier. The broker tier gets a real Apache Kafka, started through the
same code as `parklink kafka up` (or the one at PARKLINK_KAFKA_BOOTSTRAP when set), secured:
SASL/SCRAM over TLS with ACLs. For the session, os.environ holds its admin client settings
(PARKLINK_KAFKA_*), so bus.py's clients and every service started here log in; a service that
should run as its own principal gets `service_env(...)`. Tests that use confluent-kafka or
aiokafka directly take their settings from `confluent_conf()` / `aiokafka_conf()`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parklink.eventkit import access, credentials
from parklink.eventkit.bus import admin, client_security
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lifecycle import free_port, free_port_pair, spawn_module, wait_ready
from parklink.eventkit.registry_client import confluent_registry_conf, registry_credentials
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.runner import ephemeral_kafka

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
FIGURES_PROPERTY = "fault-figures"  # a fault test's figures line, kept on its report

# Every JVM the tests start, here or in a child (the Kafka nodes and their storage tool, the
# ones `parklink up` and `parklink kafka up` start, the deploy checkers), compiles with C1 only
# and collects with the serial collector: a test broker lives for minutes and serves little,
# and C2's and G1's threads were about 40% of the CPU a node takes to start on 2 shared cores.
# Set when this file is imported, so that the xdist workers and every process they start
# inherit it; a JAVA_TOOL_OPTIONS of the caller's own is left as it is.
os.environ.setdefault("JAVA_TOOL_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


def broker_unavailable(reason: str) -> None:
    """Fail in CI (a broker tier that silently skips is a failure), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"broker tier cannot run: {reason}", pytrace=False)
    pytest.skip(f"broker tier cannot run: {reason}")


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("PARKLINK_KAFKA_BOOTSTRAP")
    if given:
        yield given
        return
    state = tmp_path_factory.mktemp("kafka-state")
    cluster = ephemeral_kafka(state, free_port_pair())
    try:
        bootstrap = cluster.__enter__()
    except ParkLinkError as exc:
        broker_unavailable(str(exc))
    # Tests make fresh subjects (one topic prefix each) that services then register: the
    # session acts as the registry's writer, as `parklink schemas register` does.
    os.environ["PARKLINK_REGISTRY_USER"] = "writer"
    try:
        yield bootstrap
    finally:
        os.environ.pop("PARKLINK_REGISTRY_USER", None)
        cluster.__exit__(None, None, None)


def login_env(state_dir: Path) -> dict[str, str]:
    """The login of a cluster of a test's own under `state_dir`, in place of the session's
    (which os.environ holds, and child processes inherit)."""
    return {
        "PARKLINK_KAFKA_USER": "admin",
        "PARKLINK_KAFKA_SECRETS_DIR": str(credentials.kafka_secrets_dir(state_dir)),
        "PARKLINK_REGISTRY_USERS_FILE": str(credentials.registry_users_file(state_dir)),
    }


def confluent_conf(
    bootstrap: str, user: str | None = None, **extra: str
) -> dict[str, str | int | float | bool]:
    """confluent-kafka settings that log in to the test broker (as admin, or as `user`)."""
    return {"bootstrap.servers": bootstrap, **client_security(user=user).confluent(), **extra}


def registry_conf(url: str, user: str | None = "writer") -> dict[str, str]:
    """confluent-kafka SchemaRegistryClient settings, with HTTP Basic as `user` (None:
    anonymous)."""
    return confluent_registry_conf(url, None if user is None else registry_credentials(user=user))


def aiokafka_conf(user: str | None = None) -> dict[str, Any]:
    """aiokafka keyword arguments that log in to the test broker (as admin, or as `user`)."""
    return client_security(user=user).aiokafka()


def service_env(service: str, names: access.Names, bootstrap: str) -> dict[str, str]:
    """Give `service` its ACLs for `names` (a test's prefix and topics) and return the
    environment that makes it log in as itself instead of as admin."""
    client = admin(bootstrap.split(","))
    try:
        access.grant(client, service, access.service_grants(service, load_catalog(), names))
    finally:
        client.close()
    return {"PARKLINK_KAFKA_USER": service}


@pytest.fixture
def topic_prefix(kafka_bootstrap: str) -> Iterator[str]:
    """A fresh prefix with every catalog topic created under it; deleted after the test."""
    prefix = f"t{uuid.uuid4().hex[:10]}."
    catalog = load_catalog()
    apply_catalog(catalog, kafka_bootstrap.split(","), prefix)
    yield prefix
    delete_prefixed(kafka_bootstrap.split(","), prefix)


def delete_prefixed(servers: list[str], prefix: str) -> None:
    """Delete every topic whose name starts with `prefix` (a test's topics)."""
    client = admin(servers)
    try:
        names = [t for t in client.list_topics() if t.startswith(prefix)]
        if names:
            client.delete_topics(names)
    finally:
        client.close()


@pytest.fixture
def new_topic(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """Factory for unique throw-away topics: new_topic("name", partitions=3)."""
    created: list[str] = []
    client = admin(kafka_bootstrap.split(","))

    def make(name: str = "t", partitions: int = 1, **configs: str) -> str:
        topic = f"test.{name}.{uuid.uuid4().hex[:10]}"
        client.create_topics(
            {topic: {"num_partitions": partitions, "replication_factor": 1, "configs": configs}}
        )
        created.append(topic)
        return topic

    yield make
    try:
        if created:
            client.delete_topics(created)
    finally:
        client.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    path = tmp_path / "state"
    path.mkdir()
    return path


def start_service(
    module: str, env: dict[str, str], log_path: Path, ready_url: str, *args: str
) -> subprocess.Popen[bytes]:
    """Run `python -m <module>` with `env` added to the environment, wait until ready."""
    proc = spawn_module(module, env, log_path, *args)
    await_service(module, proc, ready_url, log_path)
    return proc


def await_service(
    module: str, proc: subprocess.Popen[bytes], ready_url: str, log_path: Path
) -> None:
    """Wait until a service started with `spawn_module` is ready; stopped if it is not."""
    try:
        wait_ready(module, ready_url, proc.poll, log_path)
    except ParkLinkError:
        stop_service(proc)
        raise


def stop_service(proc: subprocess.Popen[bytes]) -> None:
    stop_services([proc])


def stop_services(procs: Iterable[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each at once, then wait for them all (SIGKILL for those still running
    after 20 s): they stop side by side, not one after another."""
    running = [p for p in procs if p.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 20
    for proc in running:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def registry_url(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ParkLink's registry on a free port, storing into a fresh `_schemas` topic."""
    port = free_port()
    logs = tmp_path_factory.mktemp("registry")
    topic = f"_schemas.{uuid.uuid4().hex[:8]}"
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_REGISTRY_HOST": "127.0.0.1",
        "PARKLINK_REGISTRY_PORT": str(port),
        "PARKLINK_REGISTRY_TOPIC": topic,
        "PARKLINK_STATE_DIR": str(logs),
        **service_env("registry", access.Names(registry_topic=topic), kafka_bootstrap),
    }
    url = f"http://127.0.0.1:{port}"
    proc = start_service("parklink.registry", env, logs / "registry.log", f"{url}/readyz")
    try:
        yield url
    finally:
        stop_service(proc)


class OwnRegistry:
    """A schema registry of the test's own, on a fixed port and `_schemas` topic, to stop and
    start (a registry outage)."""

    def __init__(self, bootstrap: str, tmp: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PARKLINK_KAFKA_BOOTSTRAP": bootstrap,
            "PARKLINK_REGISTRY_HOST": "127.0.0.1",
            "PARKLINK_REGISTRY_PORT": str(self.port),
            "PARKLINK_REGISTRY_TOPIC": f"_schemas.{uuid.uuid4().hex[:8]}",
            "PARKLINK_STATE_DIR": str(tmp / "registry"),
        }
        self.log = tmp / "registry.log"
        self.proc = start_service("parklink.registry", self.env, self.log, f"{self.url}/readyz")

    def stop(self) -> None:
        stop_service(self.proc)

    def start(self) -> None:
        self.proc = start_service("parklink.registry", self.env, self.log, f"{self.url}/readyz")


@pytest.fixture
def own_registry(kafka_bootstrap: str, tmp_path: Path) -> Iterator[OwnRegistry]:
    own = OwnRegistry(kafka_bootstrap, tmp_path)
    try:
        yield own
    finally:
        own.stop()


def run_parklink(
    env: dict[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    """`parklink ARGS` as a user runs it, with `env` added to the environment."""
    return subprocess.run(
        [sys.executable, "-m", "parklink.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# The order in which the tiers' groups are handed to the xdist workers: the longest first, so
# that no long group starts late on one worker while the other has nothing left to do. The
# fault tier is one chain of several minutes on its own cluster; e2e and package tests each
# start whole networks; what needs no broker fills the end.
TIER_ORDER = ("fault", "e2e", "package", "integration", "deploy", "contract", "unit")


def pytest_configure(config: pytest.Config) -> None:
    # xdist's loadgroup would hand out the groups by their number of tests, most first: the
    # fault tier (6 tests, minutes) behind unit modules of 60 tests that take seconds.
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def _tier_rank(item: pytest.Item) -> int:
    tier = item.path.relative_to(Path(__file__).parent).parts[0]
    return TIER_ORDER.index(tier) if tier in TIER_ORDER else len(TIER_ORDER)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n N --dist loadgroup` (what `make test` runs) a test module stays on one
    worker (its module fixtures start once), and the fault tier, whose tests share one 3-node
    cluster, stays together on one worker. Each worker has its own session broker. The tiers
    run in TIER_ORDER (stable: the modules of a tier keep their order)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            path = item.path.relative_to(Path(__file__).parent)
            group = "fault" if path.parts[0] == "fault" else path.as_posix()
            item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=_tier_rank)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fault tier's figures, one line a test, in the summary of every run (the reports
    carry them from the xdist workers to this process)."""
    lines: dict[str, None] = {}
    for reports in terminalreporter.stats.values():
        for rep in reports:
            for key, value in getattr(rep, "user_properties", ()):
                if key == FIGURES_PROPERTY:
                    lines[str(value)] = None
    if lines:
        terminalreporter.section("fault tier figures")
        for line in lines:
            terminalreporter.write_line(line)
