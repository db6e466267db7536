"""`parklink simulate --direct`: each park publishes with the SDK straight to Kafka (no
gateway); every generated event lands on its topic once, under its key, decodable."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.simulator.conftest import assert_exactly_once, read_topics, run_simulator

pytestmark = pytest.mark.broker


def test_direct_publishes_every_event_with_the_sdk(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, state_dir: Path, tmp_path: Path
) -> None:
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_STATE_DIR": str(state_dir),
        "PARKLINK_GATEWAY_URL": "http://127.0.0.1:9",  # must not be used
    }
    run = run_simulator(
        tmp_path,
        env,
        *("--direct", "--seed", "5", "--rate", "200", "--speed", "6000", "--max-events", "300"),
    )
    assert run.returncode == 0, run.log[-3000:]
    assert "publishing with the SDK to Kafka" in run.log
    # A healthy broker: no batch was sent twice, so exactly once is expected.
    assert run.count("refused") == 0
    assert " 0 retries after backpressure" in run.summary
    topics = read_topics(kafka_bootstrap, registry_url, topic_prefix)
    assert all(topics[kind] for kind in ("orders", "shipments", "capacity"))
    assert_exactly_once(run, topics, 300)
    # The SDK's parks never needed tokens.
    assert not (state_dir / "demo-tokens.json").exists()
