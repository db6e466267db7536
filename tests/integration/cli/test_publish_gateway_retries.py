"""`parklink publish --gateway` against a real gateway that limits the park's rate: a batch
answered 429 is sent again after the Retry-After the gateway asks for; no acknowledged batch
is sent twice; the last line says what was published, refused and left."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import factories
import pytest
from conftest import run_parklink
from integration.gateway.conftest import PARK, RunningGateway, running_gateway
from integration.simulator.conftest import metric_total

from parklink.eventkit.contracts import now_utc
from parklink.eventkit.lifecycle import free_port
from parklink.eventkit.metrics import GATEWAY_EVENTS_REJECTED

pytestmark = pytest.mark.broker


@pytest.fixture
def slow_gateway(
    kafka_bootstrap: str, registry_url: str, topic_prefix: str, state_dir: Path
) -> Iterator[RunningGateway]:
    """10 events/s per park, bursts of 20: a second batch of 20 waits two seconds."""
    with running_gateway(
        kafka_bootstrap,
        registry_url,
        topic_prefix,
        state_dir,
        PARKLINK_GATEWAY_RATE_PER_S="10",
        PARKLINK_GATEWAY_RATE_BURST="20",
        PARKLINK_GATEWAY_MAX_BATCH="20",
    ) as (running, _):
        yield running


def _file(tmp: Path, count: int) -> Path:
    now = now_utc()
    path = tmp / "orders.jsonl"
    lines = [
        json.dumps(factories.order(source_park=PARK, order_id=f"PO-{i}", event_time=now).to_json())
        for i in range(count)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_rate_limited_batches_are_retried_and_each_lands_once(
    slow_gateway: RunningGateway, tmp_path: Path
) -> None:
    path = _file(tmp_path, 50)
    done = run_parklink(
        {}, "publish", "--kind", "orders", str(path), "--gateway", slow_gateway.url,
        "--token", slow_gateway.token, "--batch", "20",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"orders: 50 published, 0 refused, 0 left unpublished of 50 lines in {path}" in (
        done.stdout
    )
    assert sum(slow_gateway.end_offsets("orders").values()) == 50
    # Batches were refused for the rate, then taken when sent again.
    assert metric_total(slow_gateway.url, GATEWAY_EVENTS_REJECTED, reason="rate_limited") >= 20


def test_what_is_never_taken_is_left_and_said(tmp_path: Path) -> None:
    path = _file(tmp_path, 7)
    nowhere = f"http://127.0.0.1:{free_port()}"
    done = run_parklink(
        {}, "publish", "--kind", "orders", str(path), "--gateway", nowhere, "--token", "plk_x_y",
        "--batch", "3", "--retries", "1",
    )  # fmt: skip
    assert done.returncode == 1
    assert "orders: 0 published, 0 refused, 7 left unpublished of 7 lines" in done.stdout
    assert "publish the lines left again later (lines 1, 2, 3, 4, 5, 6, 7)" in done.stdout
    assert "gateway unreachable" in done.stderr
