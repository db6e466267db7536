"""A gateway subprocess (`python -m parklink.gateway`) on a free port, against the test broker
and registry, with its own state dir, topic prefix and a park token."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import service_env, start_service, stop_service
from kafka import TopicPartition

from parklink.eventkit import access
from parklink.eventkit.bus import consumer
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.tokens import Role, TokenStore

PARK = "KZ-ALA-IPA"


@dataclass
class RunningGateway:
    url: str
    token: str
    prefix: str
    bootstrap: str
    state_dir: Path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}

    def end_offsets(self, kind: str) -> dict[int, int]:
        topic = f"{self.prefix}{kind}.v1"
        kafka = consumer(self.bootstrap.split(","), group_id=None)
        try:
            parts = [TopicPartition(topic, p) for p in kafka.partitions_for_topic(topic) or ()]
            return {tp.partition: off for tp, off in kafka.end_offsets(parts).items()}
        finally:
            kafka.close()


def gateway_env(
    bootstrap: str, registry_url: str, prefix: str, state: Path, port: int, **extra: str
) -> dict[str, str]:
    return {
        "PARKLINK_KAFKA_BOOTSTRAP": bootstrap,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_TOPIC_PREFIX": prefix,
        "PARKLINK_STATE_DIR": str(state),
        "PARKLINK_GATEWAY_HOST": "127.0.0.1",
        "PARKLINK_GATEWAY_PORT": str(port),
        **extra,
    }


def issue_park_token(state: Path, park: str = PARK) -> str:
    store = TokenStore.in_state_dir(state)
    try:
        return store.issue(Role.PARK, park)
    finally:
        store.close()


@contextlib.contextmanager
def running_gateway(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, state_dir: Path, **extra: str
) -> Iterator[tuple[RunningGateway, subprocess.Popen[bytes]]]:
    """A gateway on a free port with a park token for PARK; `extra` settings on top."""
    token = issue_park_token(state_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_env(kafka_bootstrap, registry_url, topic_prefix, state_dir, port, **extra)
    proc = start_service("parklink.gateway", env, state_dir / "gateway.log", f"{url}/readyz")
    try:
        yield RunningGateway(url, token, topic_prefix, kafka_bootstrap, state_dir), proc
    finally:
        stop_service(proc)


@pytest.fixture
def gateway(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, state_dir: Path
) -> Iterator[RunningGateway]:
    own = service_env("gateway", access.Names(prefix=topic_prefix), kafka_bootstrap)
    with running_gateway(kafka_bootstrap, registry_url, topic_prefix, state_dir, **own) as (
        running,
        proc,
    ):
        yield running
    log = (state_dir / "gateway.log").read_text()
    # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15 rather than 0.
    assert proc.returncode in (0, -15), log[-2000:]
    assert "flushing the producer" in log
