"""`parklink subscribe` during a schema registry outage: it waits (and says so once) instead of
skipping records, prints every record in order once the registry is back, and its consumer
group commits only what it printed, so the next run goes on exactly where it stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import factories
import pytest
from conftest import OwnRegistry, run_parklink

from parklink.eventkit import bus
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import OrderEvent
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Serializer

pytestmark = [pytest.mark.broker, pytest.mark.timeout(400)]

CATALOG = load_catalog()
OUTAGE_S = 15
FIRST_RUN = 12  # of the records sent before the outage; the rest are left for the next run
LEFT = 3
LATER = 2  # sent after the first run
FIRST_ARGS = ("subscribe", "orders", "--from-beginning", "--max", str(FIRST_RUN), "--group")


def test_subscribe_waits_out_a_registry_outage_and_commits_only_what_it_printed(
    kafka_bootstrap: str, topic_prefix: str, own_registry: OwnRegistry, tmp_path: Path
) -> None:
    orders = CATALOG["orders"].topic(topic_prefix)
    schemas = RegistryClient(own_registry.url)
    serializer = Serializer(schemas, OrderEvent, CATALOG["orders"].subject(topic_prefix))
    events = [factories.order(order_id=f"PO-SUB-{n}") for n in range(FIRST_RUN + LEFT + LATER)]
    producer = bus.producer(kafka_bootstrap.split(","))

    def send(batch: list[OrderEvent]) -> None:
        for event in batch:  # one key: one partition, so the order is the sent order
            producer.send(orders, key=b"PO-SUB", value=serializer.serialize(event))
        producer.flush(timeout=30)

    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "PARKLINK_REGISTRY_URL": own_registry.url,
        "PARKLINK_TOPIC_PREFIX": topic_prefix,
        "PARKLINK_STATE_DIR": str(tmp_path / "cli"),
    }
    group = f"sub-{topic_prefix.rstrip('.')}"
    try:
        send(events[: FIRST_RUN + LEFT])
        own_registry.stop()
        out, err = tmp_path / "subscribe.out", tmp_path / "subscribe.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            proc = subprocess.Popen(
                [sys.executable, "-m", "parklink.cli", *FIRST_ARGS, group],
                env={**os.environ, **env},
                stdout=stdout,
                stderr=stderr,
            )
            try:
                time.sleep(OUTAGE_S)  # the outage itself, not a wait for a result
                running_during = proc.poll() is None
                printed_during = out.read_text()
                own_registry.start()
                code = proc.wait(timeout=180)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        send(events[FIRST_RUN + LEFT :])
        rest = run_parklink(
            env, "subscribe", "orders", "--group", group, "--max", str(LEFT + LATER)
        )
    finally:
        producer.close(timeout=5)
        schemas.close()
    log = err.read_text()
    first = [json.loads(line)["order_id"] for line in out.read_text().splitlines()]
    second = [json.loads(line)["order_id"] for line in rest.stdout.splitlines()]
    print(
        f"registry down {OUTAGE_S} s under `parklink subscribe`: still running {running_during}, "
        f"printed during it {len(printed_during.splitlines())}, after it {len(first)}; "
        f"next run printed {len(second)}"
    )
    assert running_during and printed_during == ""
    assert code == 0, log[-3000:]
    assert "skipped" not in log
    assert log.count("waits for the schema registry") == 1, log[-3000:]
    assert log.count("the schema registry answered again after") == 1
    assert first == [e.order_id for e in events[:FIRST_RUN]]
    assert rest.returncode == 0, rest.stderr[-3000:]
    assert second == [e.order_id for e in events[FIRST_RUN:]]
