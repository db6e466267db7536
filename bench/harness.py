"""What the benchmarks share: the context (broker, registry), result rows and the table."""

from __future__ import annotations

import math
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any


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


def free_base_port() -> int:
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 32000)
        with socket.socket() as a, socket.socket() as b:
            try:
                a.bind(("127.0.0.1", base))
                b.bind(("127.0.0.1", base + 1))
            except OSError:
                continue
            return base
    raise RuntimeError("no two adjacent free ports")


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
    cells = [
        (r.bench, r.metric, "-" if math.isnan(r.value) else f"{r.value:,.1f}", r.unit, r.note)
        for r in rows
    ]
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
