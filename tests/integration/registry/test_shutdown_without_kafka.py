"""A registry whose Kafka has gone still stops on SIGTERM, within its graceful-shutdown bound,
and leaves no port behind: an orphaned registry once kept running after its Kafka stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import broker_unavailable, login_env, start_service, stop_service
from pydantic import SecretStr

from parklink.eventkit import credentials
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lifecycle import free_port, free_port_pair, port_open
from parklink.eventkit.registry_client import RegistryClient
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import LocalKafka
from parklink.registry.config import RegistrySettings

pytestmark = [pytest.mark.broker, pytest.mark.timeout(600)]

KAFKA_GONE_S = 10
WRITERS = 8  # more writes waiting for the store than its bound leaves time for, one by one
GRACEFUL_S = 10.0


def register(url: str, password: SecretStr, n: int) -> None:
    """A write in flight when the registry is told to stop (its answer does not matter)."""
    client = RegistryClient(url, timeout=300, auth=("writer", password))
    schema = json.dumps({"type": "record", "name": f"R{n}", "fields": []})
    try:
        client.register(f"shutdown-{n}-value", schema)
    except ParkLinkError:
        pass
    finally:
        client.close()


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[tuple[LocalKafka, str, Path]]:
    """A one-node cluster of the test's own (the session's must not be stopped)."""
    state = tmp_path / "state"
    kafka = LocalKafka(
        KafkaLocalSettings(
            state_dir=state, kafka_base_port=free_port_pair(), kafka_start_timeout_s=300
        )
    )
    try:
        bootstrap = kafka.up(1)
    except ParkLinkError as exc:
        kafka.down(wipe=True)
        broker_unavailable(str(exc))
    try:
        yield kafka, bootstrap, state
    finally:
        kafka.down(wipe=True)


def test_a_registry_without_kafka_stops_on_sigterm_and_frees_its_port(
    own_kafka: tuple[LocalKafka, str, Path], tmp_path: Path
) -> None:
    kafka, bootstrap, state = own_kafka
    port = free_port()
    env = {
        **login_env(state),
        "PARKLINK_KAFKA_BOOTSTRAP": bootstrap,
        "PARKLINK_REGISTRY_HOST": "127.0.0.1",
        "PARKLINK_REGISTRY_PORT": str(port),
        "PARKLINK_REGISTRY_TOPIC": f"_schemas.{uuid.uuid4().hex[:8]}",
        "PARKLINK_REGISTRY_REPLICATION_FACTOR": "1",
        "PARKLINK_STATE_DIR": str(tmp_path / "registry"),
        "PARKLINK_REGISTRY_GRACEFUL_S": str(GRACEFUL_S),
    }
    log = tmp_path / "registry.log"
    url = f"http://127.0.0.1:{port}"
    proc = start_service("parklink.registry", env, log, f"{url}/readyz")
    password = SecretStr(
        credentials.read_registry_users(credentials.registry_users_file(state))["writer"][1]
    )
    try:
        kafka.down()
        time.sleep(
            KAFKA_GONE_S
        )  # the registry without its Kafka for a while, not a wait for a result
        writers = [
            threading.Thread(target=register, args=(url, password, n), daemon=True)
            for n in range(WRITERS)
        ]
        for w in writers:
            w.start()
        time.sleep(2)  # let the writes reach the store
        bound = RegistrySettings(registry_graceful_s=GRACEFUL_S).shutdown_bound_s()
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            code = None
    finally:
        stop_service(proc)  # SIGKILL after a while when it did not stop: no orphan either way
    text = log.read_text()
    print(f"registry without Kafka, SIGTERM: exit code {code} within {bound:g} s")
    assert code is not None, f"still running {bound:g} s after SIGTERM:\n{text[-3000:]}"
    assert code in (0, -signal.SIGTERM), text[-3000:]
    assert not port_open(port)
    assert "schema store closed" in text
