"""Child processes of `parklink up`: start with a log file each, wait for /readyz, stop in
reverse order (SIGTERM to the process group, SIGKILL after a timeout), and the run file that
lets `parklink down` find a detached network."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from parklink.eventkit.errors import ParkLinkError
from parklink.orchestrator.plan import Part

RUN_FILE = "run.json"


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def runs_module(pid: int, module: str) -> bool:
    """Whether `pid` is still our child (a pid can be reused after a reboot)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return alive(pid)
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
        return None if alive(self.pid) else -1

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.part.name,
            "module": self.part.module,
            "pid": self.pid,
            "port": self.part.port,
            "log": str(self.log),
        }


def start(part: Part, logs: Path) -> Running:
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{part.name}.log"
    with log_path.open("ab") as out:
        out.write(f"\n--- parklink up: starting {part.name} at {time.ctime()} ---\n".encode())
        out.flush()
        proc = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", part.module],
            env={**os.environ, **part.env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches `parklink up`, which stops us in order
        )
    return Running(part, proc.pid, log_path, proc)


def wait_ready(running: Running, timeout_s: float) -> None:
    """Poll /readyz until it answers 200; the part's log tail if it exits or times out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = running.exited()
            if code is not None:
                raise ParkLinkError(
                    f"{running.part.name} exited during start (code {code}); last lines of "
                    f"{running.log}:\n{tail(running.log)}"
                )
            try:
                if client.get(running.part.ready_url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ParkLinkError(
                    f"{running.part.name} not ready at {running.part.ready_url} after "
                    f"{timeout_s:.0f}s; last lines of {running.log}:\n{tail(running.log)}"
                )
            time.sleep(0.25)


def stop(pid: int, port: int | None, timeout_s: float) -> None:
    """SIGTERM the process group, SIGKILL it after `timeout_s`; wait for the port to close."""
    _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if alive(pid):
        _signal(pid, signal.SIGKILL)
        while alive(pid):
            _reap(pid)
            time.sleep(0.05)
    _reap(pid)
    # Whatever else the part started in its group goes too.
    _signal(pid, signal.SIGKILL)
    while port is not None and port_open(port) and time.monotonic() < deadline + 5:
        time.sleep(0.1)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return
    except PermissionError:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return


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
