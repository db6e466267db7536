"""Process lifecycle shared by everything that runs ParkLink parts as child processes (the
local Kafka runner, `parklink up`, the test fixtures and the benchmarks): start a module with
its own log, wait for its readiness URL, stop its process group, read its log tail."""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from parklink.eventkit.errors import ParkLinkError


def pid_alive(pid: int) -> bool:
    """Whether `pid` runs; a zombie (exited, not yet reaped by its parent) counts as gone."""
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


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pair(low: int = 20000, high: int = 32000) -> int:
    """A port whose next port is free too (a Kafka node's broker and controller), below the
    ephemeral range so that no client connection takes it while the node restarts."""
    rng = random.Random()  # noqa: S311 (picking a port, not a secret)
    for _ in range(200):
        base = rng.randrange(low, high)
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", base))
                b.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
            return base
    raise ParkLinkError(f"no two adjacent free ports between {low} and {high} on 127.0.0.1")


def log_tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text[-lines:])


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group led by `pid` (the process alone if that is not allowed)."""
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


def stop_group(pid: int, port: int | None = None, timeout_s: float = 20.0) -> None:
    """SIGTERM the group, SIGKILL it after `timeout_s`, then wait for `port` to close."""
    signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while pid_alive(pid) and time.monotonic() < deadline:
        _reap(pid)
        time.sleep(0.1)
    if pid_alive(pid):
        signal_group(pid, signal.SIGKILL)
        while pid_alive(pid):
            _reap(pid)
            time.sleep(0.05)
    _reap(pid)
    # Whatever else the part started in its group goes too.
    signal_group(pid, signal.SIGKILL)
    while port is not None and port_open(port) and time.monotonic() < deadline + 5:
        time.sleep(0.1)


PR_SET_PDEATHSIG = 1


def _parent_death_guard(parent: int) -> Callable[[], None]:
    """In the child before exec (Linux): SIGTERM when the parent dies, however it dies (even
    by SIGKILL); and at once if it is already gone."""

    def guard() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
            os._exit(70)  # cannot promise to die with the parent: do not start at all
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGTERM)

    return guard


def spawn_module(
    module: str,
    env: Mapping[str, str],
    log_path: Path,
    *args: str,
    die_with_parent: bool = False,
) -> subprocess.Popen[bytes]:
    """`python -m <module>` in its own session (its own process group: a Ctrl-C reaches only
    its supervisor, which stops the parts in order), `env` added to ours, output to
    `log_path`. With `die_with_parent` (Linux) the child gets SIGTERM when this process dies."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    guard = _parent_death_guard(os.getpid()) if die_with_parent and HAS_PDEATHSIG else None
    with log_path.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", module, *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=guard,
        )


HAS_PDEATHSIG = sys.platform.startswith("linux")


def wait_ready(
    name: str,
    url: str,
    exited: Callable[[], int | None],
    log_path: Path,
    timeout_s: float = 60.0,
) -> None:
    """Poll `url` until it answers 200. ParkLinkError with the log tail if the process exits
    (`exited()` returns its code) or the time runs out."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while True:
            code = exited()
            if code is not None:
                raise ParkLinkError(
                    f"{name} exited during start (code {code}); last lines of "
                    f"{log_path}:\n{log_tail(log_path)}"
                )
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise ParkLinkError(
                    f"{name} not ready at {url} after {timeout_s:.0f}s; last lines of "
                    f"{log_path}:\n{log_tail(log_path)}"
                )
            time.sleep(0.2)
