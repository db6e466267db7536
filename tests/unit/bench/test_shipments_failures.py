"""Which systems the shipments benchmark runs, and what a failed run leaves to look into: the
exit code and the log tail of each of its processes (a worker of a group that died used to
leave only "exited before draining")."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.shipments import Peer, _failure, _logs_of, chosen_peers


def test_no_choice_runs_everything_and_a_choice_runs_only_that() -> None:
    assert chosen_peers("") == {"parklink", "quix", "kstreams", "raw", "x2"}
    assert chosen_peers(" parklink, x2 ") == {"parklink", "x2"}
    with pytest.raises(ValueError, match="x3"):
        chosen_peers("parklink,x3")


def peer(processes: int) -> Peer:
    return Peer(
        name="ParkLink x2",
        argv=[],
        envs=[{} for _ in range(processes)],
        group="g",
        internal=lambda _: False,
        alerts_topic=None,
        decode=None,
        started=lambda _: None,
        version="test",
    )


def test_each_worker_of_a_group_gets_its_own_log(tmp_path: Path) -> None:
    assert _logs_of(peer(2), tmp_path) == [
        tmp_path / "peer-ParkLink-x2-1.log",
        tmp_path / "peer-ParkLink-x2-2.log",
    ]
    assert _logs_of(peer(1), tmp_path) == [tmp_path / "peer-ParkLink-x2.log"]


def test_a_failure_names_the_process_that_exited_and_quotes_its_log(tmp_path: Path) -> None:
    logs = _logs_of(peer(2), tmp_path)
    logs[0].write_text("reading\nstill reading\n")
    logs[1].write_text("starting\nTraceback: boom\n")
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    dead.wait()
    try:
        text = str(_failure(peer(2), "the consumer exited", [alive, dead], logs))
    finally:
        alive.kill()
        alive.wait()
    assert text.startswith("the consumer exited")
    assert "process 1, running" in text and "still reading" in text
    assert "process 2, exited with code 3" in text and "Traceback: boom" in text
