"""Whatever ends a foreground `parklink up` (Ctrl-C, SIGTERM, SIGHUP, nobody reading its
output any more, SIGKILL of the supervisor itself) leaves no part running and no port open.
A part is any process whose environment names this run's state dir (the children inherit it,
Kafka too)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import broker_unavailable, login_env

from parklink.eventkit.lifecycle import free_port, free_port_pair, port_open

# A whole network starts in each test: more than the default per-test timeout on a busy CI box.
pytestmark = [pytest.mark.broker, pytest.mark.timeout(900)]

PORTS = (
    "PARKLINK_REGISTRY_PORT",
    "PARKLINK_GATEWAY_PORT",
    "PARKLINK_DETECTOR_PORT",
    "PARKLINK_CONSOLE_PORT",
    "PARKLINK_SIMULATOR_PORT",
    "PARKLINK_RELAY_PORT",
)


def parts_of(state: Path) -> list[int]:
    """Pids of the processes started for the network of `state` (not this test's own)."""
    marker = f"PARKLINK_STATE_DIR={state}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if marker in environ and stat.rsplit(")", 1)[1].split()[0] != "Z":
            found.append(int(entry.name))
    return found


class Up:
    def __init__(self, tmp: Path, kafka: str | None, simulator: bool = False) -> None:
        self.state = tmp / "state"
        tag = uuid.uuid4().hex[:8]
        self.ports = {name: free_port() for name in PORTS}
        self.env = {
            **os.environ,
            **{k: str(v) for k, v in self.ports.items()},
            "PARKLINK_STATE_DIR": str(self.state),
            "PARKLINK_TOPIC_PREFIX": f"end{tag}.",
            "PARKLINK_REGISTRY_TOPIC": f"_schemas.end{tag}",
            "PARKLINK_DETECTOR_GROUP": f"end-{tag}",
            "PARKLINK_GATEWAY_GRACEFUL_S": "5",
            # A killed supervisor stops every part at once: the simulator, whose gateway is
            # gone too, would try for 15 s to send what it still holds before it stops.
            "PARKLINK_SIMULATOR_DRAIN_S": "1",
        }
        self.kafka_port: int | None = None
        if kafka is None:
            self.env.pop("PARKLINK_KAFKA_BOOTSTRAP", None)
            self.kafka_port = free_port_pair()
            self.env["PARKLINK_KAFKA_BASE_PORT"] = str(self.kafka_port)
            self.env.update(login_env(self.state))  # its own Kafka, not the session's
        else:
            self.env["PARKLINK_KAFKA_BOOTSTRAP"] = kafka
        args = [] if simulator else ["--no-simulator"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "parklink.cli", "up", *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.output: list[str] = []

    def read_until(self, text: str, timeout_s: float = 400) -> None:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline().decode(errors="replace")
            if not line:
                break
            self.output.append(line)
            if text in line:
                return
        pytest.fail(f"{text!r} never came; parklink up said:\n{''.join(self.output)}")

    def ports_open(self) -> list[int]:
        ports = list(self.ports.values())
        if self.kafka_port is not None:
            ports.append(self.kafka_port)
        return [p for p in ports if port_open(p)]

    def wait_gone(self, timeout_s: float = 180) -> tuple[list[int], list[int]]:
        """(parts still running, ports still open) once both are empty or time is up."""
        deadline = time.monotonic() + timeout_s
        while True:
            left, ports = parts_of(self.state), self.ports_open()
            if (not left and not ports) or time.monotonic() > deadline:
                return left, ports
            time.sleep(0.5)

    def kill_all(self) -> None:
        for pid in parts_of(self.state):
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def _logs(up: Up) -> str:
    logs = up.state / "logs"
    tails = [f"--- {p.name}\n{p.read_text(errors='replace')[-1500:]}" for p in logs.glob("*.log")]
    return "".join(up.output) + "\n".join(tails)


@pytest.fixture
def ended() -> Iterator[list[Up]]:
    runs: list[Up] = []
    yield runs
    for up in runs:  # whatever a failed test left behind
        up.kill_all()
        if up.proc.poll() is None:
            up.proc.kill()
        up.proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_a_signal_stops_every_part(
    sig: signal.Signals, kafka_bootstrap: str, tmp_path: Path, ended: list[Up]
) -> None:
    up = Up(tmp_path, kafka_bootstrap)
    ended.append(up)
    up.read_until("ParkLink is up")
    assert len(parts_of(up.state)) >= 4
    up.proc.send_signal(sig)
    assert up.proc.wait(timeout=180) == 0, _logs(up)
    assert up.wait_gone() == ([], []), _logs(up)
    assert not (up.state / "run.json").exists()


def test_nobody_reading_the_output_stops_every_part(
    kafka_bootstrap: str, tmp_path: Path, ended: list[Up]
) -> None:
    """`parklink up | head -1`: the pipe closes after the first line."""
    up = Up(tmp_path, kafka_bootstrap)
    ended.append(up)
    assert up.proc.stdout is not None
    up.read_until("using the Kafka cluster")
    up.proc.stdout.close()
    up.proc.wait(timeout=300)
    assert up.wait_gone() == ([], []), _logs(up)
    assert not (up.state / "run.json").exists()


def test_a_killed_supervisor_takes_its_parts_and_its_kafka_along(
    tmp_path: Path, ended: list[Up]
) -> None:
    if shutil.which("java") is None:
        broker_unavailable("Java is not installed")
    up = Up(tmp_path, None, simulator=True)
    ended.append(up)
    up.read_until("ParkLink is up", timeout_s=600)
    assert up.kafka_port is not None and port_open(up.kafka_port)
    up.proc.send_signal(signal.SIGKILL)
    up.proc.wait(timeout=30)
    assert up.wait_gone() == ([], []), _logs(up)
    assert not (up.state / "run.json").exists()
