"""Child processes of `parklink up`: start with a log file each, wait for /readyz, stop in
reverse order (SIGTERM to the process group, SIGKILL after a timeout), the run file that lets
`parklink down` find a detached network, and the watchdog that stops a foreground network
whose supervisor died without stopping it (SIGKILL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parklink.eventkit import lifecycle
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lifecycle import pid_alive, spawn_module
from parklink.orchestrator.plan import Part

RUN_FILE = "run.json"


def runs_module(pid: int, module: str) -> bool:
    """Whether `pid` is still our child (a pid can be reused after a reboot)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return pid_alive(pid)
    return module.encode() in cmdline


@dataclass
class Running:
    part: Part
    pid: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def exited(self) -> int | None:
        if self.proc is not None:
            return self.proc.poll()
        return None if pid_alive(self.pid) else -1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.part.name,
            "module": self.part.module,
            "pid": self.pid,
            "port": self.part.port,
            "stop_timeout_s": self.part.stop_timeout_s,
            "log": str(self.log),
        }


def start(part: Part, logs: Path, die_with_parent: bool) -> Running:
    log_path = logs / f"{part.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        out.write(f"\n--- parklink up: starting {part.name} at {time.ctime()} ---\n".encode())
    # Its own session: Ctrl-C reaches `parklink up`, which stops the parts in order.
    proc = spawn_module(part.module, part.env, log_path, die_with_parent=die_with_parent)
    return Running(part, proc.pid, log_path, proc)


def start_watchdog(state_dir: Path, logs: Path) -> int:
    """A process that waits for this one to end and then stops whatever the run file still
    lists (`parklink down`): after a graceful stop it finds nothing; after a SIGKILL it stops
    the parts and the Kafka this run started. Returns the write end of its pipe, to be held
    open (never inherited) until this process exits."""
    read_end, write_end = os.pipe()
    log_path = logs / "watchdog.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        subprocess.Popen(
            [sys.executable, "-m", "parklink.orchestrator.watchdog"],
            env={**os.environ, "PARKLINK_STATE_DIR": str(state_dir)},
            stdin=read_end,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    os.close(read_end)
    return write_end


def wait_ready(running: Running, timeout_s: float) -> None:
    """Poll /readyz until it answers 200; the part's log tail if it exits or times out."""
    lifecycle.wait_ready(
        running.part.name, running.part.ready_url, running.exited, running.log, timeout_s
    )


def write_run_file(state_dir: Path, doc: dict[str, Any]) -> None:
    path = state_dir / RUN_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    tmp.replace(path)


def read_run_file(state_dir: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads((state_dir / RUN_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise ParkLinkError(f"{state_dir / RUN_FILE} is unreadable ({exc}); remove it") from exc
    return doc if isinstance(doc, dict) else None
