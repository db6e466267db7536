"""What the benchmarks share: the context (broker, registry), result rows and the table."""

from __future__ import annotations

import math
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

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
    """`start_part`, also giving the process id (for `cpu_seconds`)."""
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def start_registry(ctx: BenchContext) -> str:
    """ParkLink's registry on a fresh `_schemas` topic of the bench's Kafka."""
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
