"""`parklink up --detach` on free ports from an empty state dir, the border-jam and
capacity-outage scenarios, the alerts they cause as the console's API shows them, then
`parklink down` leaving no process and no port behind."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest
from conftest import broker_unavailable, login_env, run_parklink

from parklink.eventkit.lifecycle import free_port, free_port_pair, pid_alive, port_open

pytestmark = pytest.mark.broker

EXPECTED = {"SHIPMENT_DELAY", "CORRIDOR_CONGESTION", "CAPACITY_DROP", "CAPACITY_SHORTFALL"}


def test_up_scenarios_alerts_down(tmp_path: Path) -> None:
    if shutil.which("java") is None and not os.environ.get("PARKLINK_KAFKA_BOOTSTRAP"):
        broker_unavailable("Java is not installed")
    state = tmp_path / "state"
    tag = uuid.uuid4().hex[:8]
    ports = {
        "PARKLINK_REGISTRY_PORT": free_port(),
        "PARKLINK_GATEWAY_PORT": free_port(),
        "PARKLINK_DETECTOR_PORT": free_port(),
        "PARKLINK_CONSOLE_PORT": free_port(),
        "PARKLINK_SIMULATOR_PORT": free_port(),
        "PARKLINK_RELAY_PORT": free_port(),
    }
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "PARKLINK_STATE_DIR": str(state),
        **login_env(state),
        "PARKLINK_KAFKA_BASE_PORT": str(free_port_pair()),
        "PARKLINK_SIMULATOR_SCENARIOS": "border-jam capacity-outage",
        # Names of our own, so that the test also holds on a shared cluster.
        "PARKLINK_TOPIC_PREFIX": f"e2e{tag}.",
        "PARKLINK_REGISTRY_TOPIC": f"_schemas.e2e{tag}",
        "PARKLINK_DETECTOR_GROUP": f"e2e-{tag}",
    }
    up = run_parklink(env, "up", "--detach", timeout=300)
    run_file = state / "run.json"
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        console = f"http://127.0.0.1:{ports['PARKLINK_CONSOLE_PORT']}"
        assert f"{console}/?token=plk_" in up.stdout
        token = json.loads((state / "demo-tokens.json").read_text())["operator"]
        assert (state / "demo-tokens.json").stat().st_mode & 0o777 == 0o600
        for name in ("registry", "gateway", "detector", "console", "simulator"):
            assert (state / "logs" / f"{name}.log").exists()

        seen: dict[str, set[str]] = {}
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline:
            resp = httpx.get(
                f"{console}/v1/alerts",
                params={"limit": 200},
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            assert resp.status_code == 200, resp.text
            seen = {}
            for alert in resp.json()["items"]:
                seen.setdefault(alert["type"], set()).add(alert["subject"])
            if set(seen) >= EXPECTED:
                break
            time.sleep(0.5)
        assert set(seen) >= EXPECTED, f"alerts seen: {seen}"
        assert "QD-KHR-ALA-RAIL" in seen["CORRIDOR_CONGESTION"]
        assert any(s.startswith("CN-QD-SCODA|8704|") for s in seen["CAPACITY_DROP"])
        assert any(s.startswith("CN-QD-SCODA|8704|") for s in seen["CAPACITY_SHORTFALL"])
        assert len(seen["SHIPMENT_DELAY"]) >= 4
        pids = [p["pid"] for p in json.loads(run_file.read_text())["parts"]]
    finally:
        down = run_parklink(env, "down", timeout=180)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not run_file.exists()
    assert [pid for pid in pids if pid_alive(pid)] == []
    assert [p for p in ports.values() if port_open(p)] == []
    assert not port_open(int(env["PARKLINK_KAFKA_BASE_PORT"]))
