"""The whole HTTP surface on 127.0.0.1 for the authorization matrix: a registry, a gateway, a
console, a detector worker and a simulator on the test broker, sharing one state dir (one
token store) and one metrics token, and the tokens of every column of the matrix."""

from __future__ import annotations

import secrets
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import service_env, stop_services
from integration.authz import matrix

from parklink.eventkit import access
from parklink.eventkit.lifecycle import free_port, spawn_module, wait_ready
from parklink.eventkit.tokens import Role, TokenStore

PARK_A = "KZ-ALA-IPA"
PARK_B = "CN-XA-ILP"
SERVICES = ("registry", "gateway", "console", "detector", "simulator")
READY_S = 240.0
"""A detector joining its group on a machine shared with other test runs may take a while."""


@dataclass
class Network:
    bootstrap: str
    prefix: str
    state: Path
    metrics_token: str
    urls: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str | None] = field(default_factory=dict)
    detector_group: str = field(default_factory=lambda: f"authz-{uuid.uuid4().hex[:8]}")
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def log(self, service: str) -> Path:
        return self.state.parent / f"{service}.log"

    def headers(self, column: str) -> dict[str, str]:
        token = self.tokens[column]
        return {} if token is None else {"Authorization": f"Bearer {token}"}


def _issue_tokens(state: Path, metrics_token: str) -> dict[str, str | None]:
    store = TokenStore.in_state_dir(state)
    try:
        revoked = store.issue(Role.OPERATOR, "revoked-desk")
        store.revoke(revoked.split("_")[1], by="authz-test")
        tokens: dict[str, str | None] = {
            matrix.NO_TOKEN: None,
            # Well-formed, but no such token in the store.
            matrix.WRONG: f"plk_{'0' * 12}_{secrets.token_urlsafe(24)}",
            matrix.EXPIRED: store.issue(Role.OPERATOR, "expired-desk", ttl=timedelta(seconds=1)),
            matrix.REVOKED: revoked,
            matrix.PUBLISHER_A: store.issue(Role.PARK, PARK_A),
            matrix.OPERATOR_A: store.issue(Role.PARK_OPERATOR, "ops-a", park=PARK_A),
            matrix.OPERATOR_B: store.issue(Role.PARK_OPERATOR, "ops-b", park=PARK_B),
            matrix.VIEWER: store.issue(Role.VIEWER, "eyes"),
            matrix.ALLIANCE: store.issue(Role.OPERATOR, "desk"),
            matrix.SCRAPER: metrics_token,
        }
    finally:
        store.close()
    return tokens


def _start(net: Network, service: str, env: dict[str, str], port: int) -> str:
    url = f"http://127.0.0.1:{port}"
    net.procs.append(spawn_module(f"parklink.{service}", env, net.log(service)))
    net.urls[service] = url
    return url


def _wait(net: Network, service: str) -> None:
    proc = net.procs[list(net.urls).index(service)]
    wait_ready(service, f"{net.urls[service]}/readyz", proc.poll, net.log(service), READY_S)


@pytest.fixture
def authz_network(kafka_bootstrap: str, topic_prefix: str, tmp_path: Path) -> Iterator[Network]:
    state = tmp_path / "state"
    net = Network(kafka_bootstrap, topic_prefix, state, secrets.token_urlsafe(32))
    net.tokens = _issue_tokens(state, net.metrics_token)
    common = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_STATE_DIR": str(state),
        "PARKLINK_METRICS_TOKEN": net.metrics_token,
        # The sample events carry fixed dates (tests/factories.py).
        "PARKLINK_EVENT_TIME_HORIZON_S": str(366 * 86_400),
        "PARKLINK_LOG_LEVEL": "INFO",
    }
    try:
        topic = f"_schemas.{uuid.uuid4().hex[:8]}"
        port = free_port()
        registry_env = {
            **common,
            "PARKLINK_REGISTRY_HOST": "127.0.0.1",
            "PARKLINK_REGISTRY_PORT": str(port),
            "PARKLINK_REGISTRY_TOPIC": topic,
            **service_env("registry", access.Names(registry_topic=topic), kafka_bootstrap),
        }
        # All five start together: each waits for what it needs (the registry, the gateway)
        # and says so on /readyz until it is there.
        registry_url = _start(net, "registry", registry_env, port)
        common["PARKLINK_REGISTRY_URL"] = registry_url
        port = free_port()
        gateway = {**common, "PARKLINK_GATEWAY_PORT": str(port)}
        gateway_url = _start(net, "gateway", gateway, port)
        port = free_port()
        console = {
            **common,
            "PARKLINK_CONSOLE_PORT": str(port),
            "PARKLINK_WEBHOOK_ALLOWED_TARGETS": "127.0.0.1:*",
            "PARKLINK_WEBHOOK_MAX_ATTEMPTS": "1",
            "PARKLINK_SSE_KEEPALIVE_S": "0.5",
        }
        _start(net, "console", console, port)
        port = free_port()
        # No PARKLINK_DETECTOR_HOST: the default must be 127.0.0.1.
        detector = {
            **common,
            "PARKLINK_DETECTOR_GROUP": net.detector_group,
            "PARKLINK_DETECTOR_PORT": str(port),
            "PARKLINK_DETECTOR_PARTITIONS": "2",
        }
        _start(net, "detector", detector, port)
        port = free_port()
        simulator = {
            **common,
            "PARKLINK_GATEWAY_URL": gateway_url,
            "PARKLINK_SIMULATOR_PORT": str(port),
            "PARKLINK_SIMULATOR_RATE": "1",
            "PARKLINK_SIMULATOR_SEED": "7",
        }
        _start(net, "simulator", simulator, port)
        for service in SERVICES:
            _wait(net, service)
        yield net
    finally:
        # The simulator first, while the gateway it sends to still answers; then the rest.
        stop_services(net.procs[-1:])
        stop_services(net.procs[:-1])


def wait_until(check: Any, what: str, timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")
