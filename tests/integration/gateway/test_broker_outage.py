"""With the broker stopped the gateway answers 503 and never 202; once the broker is back,
publishing resumes without restarting the gateway. Runs its own broker so that stopping it
does not disturb the other tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import factories
import httpx
import pytest
from conftest import start_service, stop_service
from integration.gateway.conftest import PARK, gateway_env, issue_park_token

from parklink.eventkit.bus import wait_for_kafka
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import now_utc
from parklink.eventkit.lifecycle import free_port, free_port_pair
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import LocalKafka

pytestmark = pytest.mark.broker


@pytest.fixture
def own_kafka(tmp_path: Path) -> Iterator[LocalKafka]:
    kafka = LocalKafka(
        KafkaLocalSettings(
            state_dir=tmp_path / "own-kafka",
            kafka_base_port=free_port_pair(),
            kafka_start_timeout_s=300,
        )
    )
    kafka.up(1)
    try:
        yield kafka
    finally:
        kafka.down(wipe=True)


def _post(url: str, token: str) -> httpx.Response:
    now = now_utc().isoformat()
    body = [
        factories.order(source_park=PARK, order_id=f"PO-{i}", event_time=now).to_json()
        for i in range(20)
    ]
    return httpx.post(
        f"{url}/v1/events/orders",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def test_503_while_the_broker_is_down_then_publishing_resumes(
    own_kafka: LocalKafka, registry_url: str, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bootstrap = own_kafka.bootstrap()
    for key, value in own_kafka.client_env().items():  # log in to this broker, not the session's
        if key != "PARKLINK_REGISTRY_USERS_FILE":
            monkeypatch.setenv(key, value)
    prefix = f"t{uuid.uuid4().hex[:10]}."
    apply_catalog(load_catalog(), [bootstrap], prefix)
    token = issue_park_token(state_dir)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_env(
        bootstrap, registry_url, prefix, state_dir, port, PARKLINK_GATEWAY_PRODUCE_TIMEOUT_S="3"
    )
    proc = start_service("parklink.gateway", env, state_dir / "gateway.log", f"{url}/readyz")
    try:
        assert _post(url, token).status_code == 202
        own_kafka.down()
        statuses = [_post(url, token).status_code for _ in range(3)]
        assert statuses == [503, 503, 503]
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 503
        own_kafka.up(1)
        wait_for_kafka([bootstrap])
        deadline = time.monotonic() + 60
        status = 0
        while status != 202 and time.monotonic() < deadline:
            status = _post(url, token).status_code
            assert status in (202, 503)
        assert status == 202
        assert _post(url, token).status_code == 202
    finally:
        stop_service(proc)
