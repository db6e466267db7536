"""The simulator against a gateway that pushes back, on a real broker: with a low per-park rate
limit and a batch limit below the simulator's, it is answered 429 and 413, backs off, sends
smaller batches, says that it cannot keep its --rate, and still every event it generated lands
on its topic exactly once. With the registry down at first the gateway answers 503: the
simulator waits and delivers everything once the registry is up.

Exactly once (not merely at least once) is asserted because a 429, 413 or 503 means the gateway
took nothing, and the simulator resends a batch only whole, never part of one; the one resend
that can duplicate (after an ambiguous transport failure) is asserted not to have happened."""

from __future__ import annotations

import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import start_service, stop_service
from integration.gateway.conftest import gateway_env
from integration.simulator.conftest import (
    assert_exactly_once,
    finish_simulator,
    metric_total,
    read_topics,
    run_simulator,
    start_simulator,
)

from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.metrics import GATEWAY_EVENTS_ACCEPTED, GATEWAY_EVENTS_REJECTED

pytestmark = pytest.mark.broker

AMBIGUOUS = "gateway unreachable"  # the sink's reason for a transport failure


def simulator_env(state_dir: Path, gateway_url: str) -> dict[str, str]:
    return {
        "PARKLINK_STATE_DIR": str(state_dir),  # the gateway's token store: tokens get issued
        "PARKLINK_GATEWAY_URL": gateway_url,
        "PARKLINK_SIMULATOR_REPORT_S": "1",
        "PARKLINK_SIMULATOR_LAG_WARN_S": "1",
    }


def test_rate_limited_it_backs_off_says_it_falls_behind_and_loses_nothing(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, state_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_env(
        kafka_bootstrap,
        registry_url,
        topic_prefix,
        state_dir,
        port,
        PARKLINK_GATEWAY_RATE_PER_S="15",  # per park; the simulator wants ~30/s for Qingdao
        PARKLINK_GATEWAY_RATE_BURST="20",
        PARKLINK_GATEWAY_MAX_BATCH="20",  # the simulator starts with batches of up to 500
    )
    gateway = start_service("parklink.gateway", env, tmp_path / "gateway.log", f"{url}/readyz")
    try:
        run = run_simulator(
            tmp_path,
            simulator_env(state_dir, url),
            *("--seed", "7", "--rate", "100", "--speed", "6000", "--max-events", "400"),
        )
        rate_limited = metric_total(url, GATEWAY_EVENTS_REJECTED, reason="rate_limited")
        too_large = metric_total(url, GATEWAY_EVENTS_REJECTED, reason="batch_too_large")
        accepted = metric_total(url, GATEWAY_EVENTS_ACCEPTED)
    finally:
        stop_service(gateway)
    assert run.returncode == 0, run.log[-3000:]
    # The gateway pushed back, and the simulator retried and shrank its batches.
    assert rate_limited > 0
    assert too_large > 0
    assert "gateway answered 429" in run.log
    assert "sending at most" in run.log
    retried = re.search(r"\b(\d+) retries after backpressure", run.summary)
    assert retried is not None and int(retried.group(1)) > 0, run.summary
    assert AMBIGUOUS not in run.log
    # It said that it could not keep its rate, while running and at the end.
    assert "cannot keep up with --rate 100" in run.log
    assert "fell behind --rate 100" in run.summary
    # Nothing lost, nothing twice.
    assert accepted == 400
    assert_exactly_once(run, read_topics(kafka_bootstrap, registry_url, topic_prefix), 400)


def test_registry_down_the_gateway_answers_503_and_everything_arrives_once_it_is_up(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, state_dir: Path, tmp_path: Path
) -> None:
    """The gateway starts against a registry that is not there yet, so it cannot frame any
    event (503, Retry-After 5); the simulator keeps its events until the registry starts."""
    own_registry = f"http://127.0.0.1:{free_port()}"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = gateway_env(kafka_bootstrap, own_registry, topic_prefix, state_dir, port)
    gateway = start_service("parklink.gateway", env, tmp_path / "gateway.log", f"{url}/healthz")
    registry = None
    try:
        assert httpx.get(f"{url}/readyz", timeout=10).status_code == 503
        sim, record = start_simulator(
            tmp_path,
            simulator_env(state_dir, url),
            *("--seed", "11", "--rate", "100", "--speed", "6000", "--max-events", "150"),
        )
        try:
            # A safety net, not a speed check: the simulator's start alone can take half a
            # minute on a busy machine.
            deadline = time.monotonic() + 180
            while metric_total(url, GATEWAY_EVENTS_REJECTED, reason="unavailable") == 0:
                assert time.monotonic() < deadline, "the gateway never answered 503"
                assert sim.poll() is None, (tmp_path / "simulator.log").read_text()[-3000:]
                time.sleep(0.2)
            registry_env = {
                "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
                "PARKLINK_REGISTRY_HOST": "127.0.0.1",
                "PARKLINK_REGISTRY_PORT": own_registry.rsplit(":", 1)[1],
                "PARKLINK_REGISTRY_TOPIC": f"_schemas.{uuid.uuid4().hex[:8]}",
                "PARKLINK_STATE_DIR": str(tmp_path),
            }
            registry = start_service(
                "parklink.registry",
                registry_env,
                tmp_path / "registry.log",
                f"{own_registry}/readyz",
            )
            run = finish_simulator(sim, tmp_path, record)
        finally:
            if sim.poll() is None:
                sim.kill()
                sim.wait()
        unavailable = metric_total(url, GATEWAY_EVENTS_REJECTED, reason="unavailable")
    finally:
        stop_service(gateway)
    try:
        assert run.returncode == 0, run.log[-3000:]
        assert unavailable > 0
        assert "gateway answered 503" in run.log
        assert AMBIGUOUS not in run.log
        assert_exactly_once(run, read_topics(kafka_bootstrap, own_registry, topic_prefix), 150)
    finally:
        if registry is not None:
            stop_service(registry)
