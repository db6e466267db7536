"""What the benchmarks share: the context (broker, registry), result rows and the table."""

from __future__ import annotations

import math
import os
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from parklink.eventkit import lag
from parklink.eventkit.lifecycle import (
    free_port,
    free_port_pair,
    spawn_module,
    stop_group,
    wait_ready,
)

__all__ = ["free_port", "free_port_pair"]


@dataclass
class Row:
    bench: str
    metric: str
    value: float
    unit: str
    note: str = ""


@dataclass
class BenchContext:
    bootstrap: str
    workdir: Path
    _closers: list[Callable[[], Any]] = field(default_factory=list)

    @property
    def servers(self) -> list[str]:
        return self.bootstrap.split(",")

    def on_close(self, fn: Callable[[], Any]) -> None:
        self._closers.append(fn)

    def close(self) -> None:
        for fn in reversed(self._closers):
            fn()
        self._closers.clear()


@dataclass
class Part:
    """A service the bench started: its URL and its process id."""

    url: str
    pid: int


def start_part(ctx: BenchContext, module: str, port: int, env: dict[str, str]) -> str:
    """Run `python -m <module>` on `port` against the bench's Kafka until the bench ends;
    returns its URL once /readyz answers."""
    return start_process(ctx, module, port, env).url


def start_process(ctx: BenchContext, module: str, port: int, env: dict[str, str]) -> Part:
    """`start_part`, also giving the process id (for `tree_cpu_seconds`)."""
    name = module.rsplit(".", 1)[-1]
    log_path = ctx.workdir / f"{name}-{port}.log"
    proc = spawn_module(
        module,
        {"PARKLINK_KAFKA_BOOTSTRAP": ctx.bootstrap, "PARKLINK_LOG_LEVEL": "WARNING", **env},
        log_path,
    )
    ctx.on_close(lambda: stop_group(proc.pid, port, timeout_s=30))
    url = f"http://127.0.0.1:{port}"
    wait_ready(name, f"{url}/readyz", proc.poll, log_path, timeout_s=90)
    return Part(url, proc.pid)


def start_registry(ctx: BenchContext) -> str:
    """ParkLink's registry on a fresh `_schemas` topic of the bench's Kafka. The bench makes
    fresh subjects (a topic prefix per run) that it and the services it starts register, so
    from here on it acts as the registry's writer, as `parklink schemas register` does
    (anonymous registration is refused)."""
    os.environ.setdefault("PARKLINK_REGISTRY_USER", "writer")
    port = free_port()
    return start_part(
        ctx,
        "parklink.registry",
        port,
        {
            "PARKLINK_REGISTRY_HOST": "127.0.0.1",
            "PARKLINK_REGISTRY_PORT": str(port),
            "PARKLINK_REGISTRY_TOPIC": f"_schemas.bench.{uuid.uuid4().hex[:8]}",
            "PARKLINK_STATE_DIR": str(ctx.workdir),
        },
    )


def lib_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def rate(count: int, fn: Callable[[], Any], min_seconds: float = 1.0) -> float:
    """Calls of `fn` (each doing `count` items) per second, repeated for at least min_seconds."""
    done = 0
    start = time.perf_counter()
    while True:
        fn()
        done += count
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def print_table(rows: list[Row]) -> None:
    headers = ("benchmark", "metric", "value", "unit", "note")
    cells = [(r.bench, r.metric, _number(r.value), r.unit, r.note) for r in rows]
    widths = [
        max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for c in cells:
        print(
            "  ".join(
                v.rjust(w) if i == 2 else v.ljust(w)
                for i, (v, w) in enumerate(zip(c, widths, strict=True))
            )
        )


def _number(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.1f}"


def spawn_command(
    argv: list[str], env: Mapping[str, str], log_path: Path
) -> subprocess.Popen[bytes]:
    """Any program (a peer of ours in another runtime) in its own session, like a part: `env`
    added to ours, output to `log_path`; stop it with `stop_group(proc.pid)`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        return subprocess.Popen(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of `pid` and every live process below it (/proc/<pid>/stat
    utime + stime, all threads included)."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        child = int(entry.name)
        parent[child] = int(fields[1])
        ticks[child] = int(fields[11]) + int(fields[12])
    tree, frontier = {pid}, [pid]
    while frontier:
        top = frontier.pop()
        for child, up in parent.items():
            if up == top and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(ticks.get(p, 0) for p in tree) / _TICK


class GroupLag(lag.GroupLag):
    """A consumer group's lag over the topics it reads: `sources` and the internal topics
    (repartition topics of a stream processor) that `internal(name)` picks."""

    def __init__(
        self,
        ctx: BenchContext,
        group: str,
        sources: set[str],
        internal: Callable[[str], bool] = lambda _: False,
    ) -> None:
        super().__init__(ctx.servers, group, lambda t: t in sources or internal(t))

    def wait_drained(self, timeout_s: float, alive: Callable[[], bool] = lambda: True) -> float:
        """time.time() of the first poll that finds no lag; raises if the time runs out or
        the consumer dies."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.total() == 0:
                return time.time()
            if not alive():
                raise RuntimeError(f"the consumer of group {self.group} exited before draining")
            time.sleep(0.1)
        raise RuntimeError(f"group {self.group} still had lag after {timeout_s:.0f} s")
