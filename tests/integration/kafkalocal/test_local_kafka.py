"""`parklink kafka up/down` and `topics apply` on a real broker, seen by an independent client."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient
from conftest import login_env, run_parklink

from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lifecycle import free_port_pair, port_open
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import LocalKafka

pytestmark = pytest.mark.broker


def test_up_apply_twice_list_with_confluent_then_down(tmp_path: Path) -> None:
    import os

    base = free_port_pair()
    env = {
        **os.environ,
        **login_env(tmp_path / "state"),  # not the session broker's login: this cluster's own
        "PARKLINK_STATE_DIR": str(tmp_path / "state"),
        "PARKLINK_KAFKA_BASE_PORT": str(base),
        "PARKLINK_KAFKA_BOOTSTRAP": f"127.0.0.1:{base}",
        "PARKLINK_KAFKA_START_TIMEOUT_S": "300",  # a loaded CI machine starts JVMs slowly
    }
    up = run_parklink(env, "kafka", "up")
    assert up.returncode == 0, up.stderr
    try:
        again = run_parklink(env, "kafka", "up")
        assert again.returncode == 1
        assert again.stderr.strip().startswith("error: Kafka is already running")
        assert "Traceback" not in again.stderr

        first = run_parklink(env, "topics", "apply")
        assert first.returncode == 0, first.stderr
        assert "created:" in first.stdout
        second = run_parklink(env, "topics", "apply")
        assert second.returncode == 0, second.stderr
        assert "created" not in second.stdout and "reconfigured" not in second.stdout
        assert "unchanged: alliance.orders.v1" in second.stdout

        kafka = LocalKafka(KafkaLocalSettings(state_dir=tmp_path / "state", kafka_base_port=base))
        conf: dict[str, str | int | float | bool] = {
            "bootstrap.servers": f"127.0.0.1:{base}",
            **kafka.security().confluent(),
        }
        listed = AdminClient(conf).list_topics(timeout=30)
        catalog = load_catalog()
        for spec in catalog.topics.values():
            meta = listed.topics[spec.topic("alliance.")]
            assert len(meta.partitions) == spec.partitions
        status = run_parklink(env, "kafka", "status")
        assert status.returncode == 0 and "running" in status.stdout
        # The node maps the class archive, or writes it on exit when there is none yet.
        [node] = kafka.status()
        cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes().split(b"\0")
        archive = kafka.class_archive()
        shares = {f"-XX:SharedArchiveFile={archive}".encode()}
        shares.add(f"-XX:ArchiveClassesAtExit={node.node.home / 'classes.jsa'}".encode())
        assert shares & set(cmdline), cmdline
    finally:
        down = run_parklink(env, "kafka", "down")
    assert down.returncode == 0, down.stderr
    assert archive.exists()
    assert "Unable to use shared archive" not in node.node.log_file.read_text(errors="replace")
    assert not port_open(base)
    jvms = subprocess.run(["pgrep", "-f", f"{tmp_path}/state"], capture_output=True, text=True)
    assert jvms.stdout.strip() == ""
    assert run_parklink(env, "kafka", "status").returncode == 1


def test_apply_refuses_fewer_partitions(kafka_bootstrap: str, topic_prefix: str) -> None:
    catalog = load_catalog()
    orders = catalog["orders"]
    shrunk = type(catalog)({"orders": type(orders)(**{**orders.__dict__, "partitions": 2})})
    with pytest.raises(ParkLinkError, match="Kafka cannot remove partitions"):
        apply_catalog(shrunk, kafka_bootstrap.split(","), topic_prefix)


def test_corrupt_state_dir_is_one_clear_error(tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "kafka").mkdir(parents=True)
    (state / "kafka" / "cluster.json").write_text("{not json")
    kafka = LocalKafka(KafkaLocalSettings(state_dir=state, kafka_base_port=free_port_pair()))
    with pytest.raises(ParkLinkError, match="state dir looks corrupt"):
        kafka.up(1)
