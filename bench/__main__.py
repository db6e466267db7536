"""`make bench`: start a throw-away local Kafka, run every benchmark, print one table.

`python -m bench serde publisher` (or `make bench ONLY="serde publisher"`) runs only those."""

from __future__ import annotations

import importlib
import os
import signal
import sys
import tempfile
from pathlib import Path

from bench.harness import BenchContext, Row, free_port_pair, print_table
from parklink.kafkalocal.runner import ephemeral_kafka

# Benchmark modules, each with `run(ctx) -> list[Row]`, in the order the table shows them.
BENCHES = (
    "bench.serde",
    "bench.registry_serde",
    "bench.producer",
    "bench.security",
    "bench.detector",
    "bench.weeks",
    "bench.shipments",
    "bench.publisher",
    "bench.gateway",
    "bench.soak",
)


def main(argv: list[str]) -> int:
    chosen = [b for b in BENCHES if not argv or b.removeprefix("bench.") in argv]
    unknown = set(argv) - {b.removeprefix("bench.") for b in BENCHES}
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(sorted(unknown))}; one of "
            + ", ".join(b.removeprefix("bench.") for b in BENCHES),
            file=sys.stderr,
        )
        return 2
    # SIGTERM ends the run as Ctrl-C does, through the `finally`s that stop what it started.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    rows: list[Row] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="parklink-bench-") as tmp:
        print("starting a throw-away Kafka for the benchmarks ...", file=sys.stderr, flush=True)
        with ephemeral_kafka(Path(tmp) / "state", free_port_pair()) as bootstrap:
            # The benchmarks make fresh subjects (a topic prefix each): like `parklink schemas
            # register`, they and the parts they start act as the registry's writer.
            os.environ["PARKLINK_REGISTRY_USER"] = "writer"
            ctx = BenchContext(bootstrap=bootstrap, workdir=Path(tmp))
            try:
                for name in chosen:
                    print(f"running {name} ...", file=sys.stderr, flush=True)
                    try:
                        rows.extend(importlib.import_module(name).run(ctx))
                    except Exception as exc:  # a broken bench must not hide the others'
                        failed = True
                        rows.append(
                            Row(name, "FAILED", float("nan"), "", f"{type(exc).__name__}: {exc}")
                        )
            finally:  # also on Ctrl-C or SIGTERM: no part a bench started outlives it
                ctx.close()
    print_table(rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
