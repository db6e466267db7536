"""Soak: 90 simulated days of alliance traffic through one detector, in a few minutes.

The simulator publishes with the SDK (`--direct`) at SPEED simulated seconds per wall
second, and the detector's clock runs at the same speed from the same origin
(PARKLINK_DETECTOR_TIME_SPEED / _ORIGIN, eventkit/clock.py), so entities age, leave the
tables (rules/retention.py) and the week retention turns over as the simulated months pass.
Day 0 is the detector's first event. At simulated day 30, 60 and 90 the bench notes how
many records the park topics hold; once the detector has read that many (it may trail the
simulator) it samples the detector's RSS (/proc/<pid>/status VmRSS) and the bytes of its
changelog topics on the broker (describe_log_dirs). Then it restarts the detector and
times its recovery: from the new process to its /readyz answering 200 (group joined,
tables restored from the changelogs). The retention settings are the defaults; the
changelogs roll a segment every 7 simulated days (the broker's default roll, in simulated
time), so compaction can work on them as it would in a real week."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import TopicPartition
from kafka.admin import ConfigResource

from bench.detector import CATALOG, _events_in, _group_lag, _metric_total, _refused
from bench.harness import BenchContext, Part, Row, free_port, start_process, start_registry
from parklink.eventkit import bus
from parklink.eventkit.lifecycle import log_tail, spawn_module, stop_group
from parklink.eventkit.topic_admin import apply_catalog

DAY_S = 86_400
DAYS = 90
SAMPLES = (30, 60, 90)
WALL_S = 360.0
"""How long the 90 simulated days take on the wall clock."""
SPEED = DAYS * DAY_S / WALL_S
RATE = 200.0
"""Events per wall second the simulator publishes (RATE * DAY_S / SPEED per simulated day)."""
SWEEP_S = DAY_S
"""The sweep period, in detector seconds (a simulated day: a few wall seconds)."""
ROLL_DAYS = 7
START_TIMEOUT_S = 120.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _changelogs(admin: Any, prefix: str, group: str) -> list[str]:
    own = f"{prefix}{group}-"
    return sorted(t for t in admin.list_topics() if t.startswith(own) and t.endswith("changelog"))


def _changelog_bytes(admin: Any, topics: list[str]) -> int:
    """Bytes on the broker's disks of the partitions of `topics`."""
    total = 0
    for broker in admin.describe_log_dirs(topic_partitions=topics):
        for log_dir in broker["log_dirs"]:
            for topic in log_dir["topics"]:
                if topic["name"] in topics:
                    total += sum(p["partition_size"] for p in topic["partitions"])
    return total


def _roll_segments(admin: Any, topics: list[str]) -> None:
    """A segment every ROLL_DAYS simulated days (only closed segments are compacted)."""
    roll_ms = str(max(1000, int(ROLL_DAYS * DAY_S / SPEED * 1000)))
    admin.alter_configs(
        [ConfigResource("TOPIC", t, configs={"segment.ms": roll_ms}) for t in topics],
        raise_on_unknown=False,
    )


def _wait(done: Callable[[], bool], alive: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if not alive():
            raise RuntimeError("the detector exited during the soak")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the detector fell more than {timeout_s:.0f} s behind")
        time.sleep(0.2)


class _Published:
    """How many records the park topics hold (their end offsets; the topics are new)."""

    def __init__(self, ctx: BenchContext, prefix: str) -> None:
        self.reader = bus.consumer(ctx.servers, group_id=None)
        ctx.on_close(self.reader.close)
        topics = [CATALOG[role].topic(prefix) for role in ("orders", "shipments", "capacity")]
        self.parts = [
            TopicPartition(t, p) for t in topics for p in self.reader.partitions_for_topic(t)
        ]

    def count(self) -> int:
        return sum(self.reader.end_offsets(self.parts).values())


def run(ctx: BenchContext) -> list[Row]:
    registry_url = start_registry(ctx)
    prefix = f"bsoak{uuid.uuid4().hex[:6]}."
    group = f"soak-{uuid.uuid4().hex[:6]}"
    apply_catalog(CATALOG, ctx.servers, prefix)
    origin = datetime.now(UTC).replace(microsecond=0)
    common = {
        "PARKLINK_TOPIC_PREFIX": prefix,
        "PARKLINK_REGISTRY_URL": registry_url,
        "PARKLINK_KAFKA_BOOTSTRAP": ctx.bootstrap,
    }
    state = ctx.workdir / f"soak-{group}"
    detector_env = {
        **common,
        "PARKLINK_STATE_DIR": str(state),
        "PARKLINK_DETECTOR_GROUP": group,
        "PARKLINK_DETECTOR_TIME_SPEED": repr(SPEED),
        "PARKLINK_DETECTOR_TIME_ORIGIN": origin.isoformat(),
        "PARKLINK_SWEEP_SECONDS": str(SWEEP_S),
        # A silence is judged by the broker time of the heartbeats, which at this speed
        # trail the parks' events by hours whenever the worker has a backlog: the soak
        # looks at memory, not at PARK_SILENT.
        "PARKLINK_SILENT_WARNING_SECONDS": str(3 * DAY_S),
        "PARKLINK_SILENT_CRITICAL_SECONDS": str(10 * DAY_S),
    }

    def start_detector() -> Part:
        port = free_port()
        return start_process(
            ctx, "parklink.detector", port, {**detector_env, "PARKLINK_DETECTOR_PORT": str(port)}
        )

    part = start_detector()
    admin = bus.admin(ctx.servers)
    ctx.on_close(admin.close)
    lag = _group_lag(ctx, prefix, group)
    sim_log = ctx.workdir / f"soak-simulator-{group}.log"
    sim = spawn_module(
        "parklink.simulator",
        {**common, "PARKLINK_STATE_DIR": str(state), "PARKLINK_LOG_LEVEL": "WARNING"},
        sim_log,
        "--direct",
        "--seed",
        "13",
        "--port",
        "0",
        "--speed",
        repr(SPEED),
        "--rate",
        repr(RATE),
        "--time-origin",
        origin.isoformat(),
        "--duration",
        repr(WALL_S + 2.0),
    )
    ctx.on_close(lambda: stop_group(sim.pid, timeout_s=30))
    deadline = time.monotonic() + START_TIMEOUT_S
    while _events_in(part.url) <= 0:
        if sim.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the detector read nothing; simulator:\n{log_tail(sim_log)}")
        time.sleep(0.05)
    day0 = time.time()
    topics = _changelogs(admin, prefix, group)
    _roll_segments(admin, topics)
    published = _Published(ctx, prefix)

    def alive() -> bool:
        return part_alive(part)

    samples: list[tuple[int, float, int, int, float]] = []
    for day in SAMPLES:
        moment = day0 + day * DAY_S / SPEED
        _wait(_past(moment), alive, WALL_S)
        mark = published.count()
        _wait(_read(part.url, mark), alive, 300)
        behind = time.time() - moment
        topics = _changelogs(admin, prefix, group)
        _roll_segments(admin, topics)
        samples.append((day, _rss_mb(part.pid), _changelog_bytes(admin, topics), mark, behind))
    if sim.wait(timeout=120) != 0:
        raise RuntimeError(f"the simulator failed:\n{log_tail(sim_log)}")
    lag.wait_drained(300, lambda: part_alive(part))
    events = _events_in(part.url)
    refused = _refused(part.url)
    dlq = _metric_total(part.url, "parklink_detector_dlq_total")
    drained_rss = _rss_mb(part.pid)
    drained_bytes = _changelog_bytes(admin, topics)
    stop_group(part.pid, timeout_s=30)
    started = time.monotonic()
    again = start_detector()
    recovery = time.monotonic() - started
    recovered_rss = _rss_mb(again.pid)
    return _rows(samples, events, refused, dlq, drained_rss, drained_bytes, recovery, recovered_rss)


def _past(moment: float) -> Callable[[], bool]:
    return lambda: time.time() >= moment


def _read(url: str, count: int) -> Callable[[], bool]:
    return lambda: _events_in(url) >= count


def part_alive(part: Part) -> bool:
    return Path(f"/proc/{part.pid}").exists()


def _rows(
    samples: list[tuple[int, float, int, int, float]],
    events: float,
    refused: float,
    dlq: float,
    drained_rss: float,
    drained_bytes: int,
    recovery: float,
    recovered_rss: float,
) -> list[Row]:
    per_day = events / DAYS
    how = (
        f"simulator --direct --speed {SPEED:,.0f} --rate {RATE:,.0f}: {DAYS} simulated days in "
        f"{WALL_S:.0f} s, {per_day:,.0f} events per simulated day ({events:,.0f} read, "
        f"{refused:,.0f} refused, {dlq:,.0f} dead-lettered); retention defaults, sweep every "
        f"simulated day"
    )
    rows: list[Row] = []
    for day, rss, _, mark, behind in samples:
        taken = f"after the first {mark:,} records, {behind:.1f} wall s after the simulated day"
        rows.append(
            Row(
                "soak",
                f"detector RSS at day {day}",
                rss,
                "MB",
                f"{how}; {taken}" if day == SAMPLES[0] else taken,
            )
        )
    for day, _, size, _, _ in samples:
        rows.append(
            Row(
                "soak",
                f"changelog bytes at day {day}",
                size / 1e6,
                "MB",
                "the detector's changelog topics on the broker (describe_log_dirs); a segment "
                f"rolls every {ROLL_DAYS} simulated days",
            )
        )
    first, last = samples[0][1], samples[-1][1]
    rows += [
        Row(
            "soak",
            "RSS day 90 / day 30",
            last / first,
            "x",
            f"goal <= 1.2; once drained: RSS {drained_rss:,.0f} MB, changelogs "
            f"{drained_bytes / 1e6:,.1f} MB",
        ),
        Row(
            "soak",
            "restart recovery at day 90",
            recovery,
            "s",
            f"from the new process to /readyz 200 (group joined, tables restored from the "
            f"changelogs); RSS after it {recovered_rss:,.0f} MB",
        ),
    ]
    return rows
