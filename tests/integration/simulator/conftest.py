"""Helpers for running `parklink simulate` as a subprocess against a real broker, and for
reading back what reached the topics."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from kafka import TopicPartition

from parklink.eventkit.bus import consumer
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import GenericDeserializer

KINDS = tuple(PARK_EVENT_MODELS)


@dataclass
class SimulatorRun:
    returncode: int
    summary: str  # stdout: the closing lines
    log: str  # stderr: the logging
    record: Path  # --record: one JSON line per acknowledged event

    def recorded(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.record.read_text().splitlines()]

    def count(self, word: str) -> int:
        """A number from the summary line, e.g. count("published")."""
        found = re.search(rf"{word} (\d+)", self.summary)
        assert found, f"no {word!r} in {self.summary!r}"
        return int(found.group(1))


def simulator_command(record: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "parklink.cli",
        "simulate",
        "--port",
        "0",
        "--record",
        str(record),
    ]


def start_simulator(
    tmp: Path, env: dict[str, str], *args: str
) -> tuple[subprocess.Popen[bytes], Path]:
    record = tmp / "simulator-events.jsonl"
    with (tmp / "simulator.out").open("wb") as out, (tmp / "simulator.log").open("wb") as err:
        proc = subprocess.Popen(
            [*simulator_command(record), *args],
            env={**os.environ, **env},
            stdout=out,
            stderr=err,
        )
    return proc, record


def finish_simulator(
    proc: subprocess.Popen[bytes], tmp: Path, record: Path, timeout: float = 90
) -> SimulatorRun:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        log = (tmp / "simulator.log").read_text()
        raise AssertionError(f"simulator still running after {timeout}s:\n{log[-3000:]}") from None
    return SimulatorRun(
        proc.returncode,
        (tmp / "simulator.out").read_text(),
        (tmp / "simulator.log").read_text(),
        record,
    )


def run_simulator(tmp: Path, env: dict[str, str], *args: str) -> SimulatorRun:
    proc, record = start_simulator(tmp, env, *args)
    return finish_simulator(proc, tmp, record)


def read_topics(
    bootstrap: str, registry_url: str, prefix: str, timeout: float = 30
) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """Every record of the three park topics under `prefix`, as (key, decoded value)."""
    catalog = load_catalog()
    decode = GenericDeserializer(RegistryClient(registry_url))
    kafka = consumer(bootstrap.split(","), group_id=None)
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    try:
        for kind in KINDS:
            topic = catalog[kind].topic(prefix)
            parts = [TopicPartition(topic, p) for p in sorted(kafka.partitions_for_topic(topic))]
            ends = kafka.end_offsets(parts)
            kafka.assign(parts)
            kafka.seek_to_beginning(*parts)
            records: list[tuple[str, dict[str, Any]]] = []
            deadline = time.monotonic() + timeout
            while any(kafka.position(tp) < ends[tp] for tp in parts):
                assert time.monotonic() < deadline, f"{topic}: not read to its end"
                for batch in kafka.poll(timeout_ms=500).values():
                    records += [(r.key.decode(), decode.deserialize(r.value)) for r in batch]
            out[kind] = records
    finally:
        kafka.close()
    return out


def assert_exactly_once(
    run: SimulatorRun, topics: dict[str, list[tuple[str, dict[str, Any]]]], expected: int
) -> None:
    """Every event the simulator generated was acknowledged, and is on its topic exactly once,
    under its entity's key (order, shipment, or park|category|week); nothing else is there."""
    recorded = run.recorded()
    assert run.count("generated") == run.count("published") == len(recorded) == expected
    assert run.count("refused") == run.count("not published") == 0
    by_kind: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for line in recorded:
        by_kind[line["kind"]].add(line["event"]["event_id"])
    assert sum(len(ids) for ids in by_kind.values()) == expected  # no id recorded twice
    for kind in KINDS:
        on_topic = Counter(value["event_id"] for _, value in topics[kind])
        twice = {event_id: n for event_id, n in on_topic.items() if n > 1}
        assert not twice, f"{kind}: written more than once: {twice}"
        assert set(on_topic) == by_kind[kind], kind
    for line in recorded:
        event = PARK_EVENT_MODELS[line["kind"]].model_validate(line["event"])
        keys = {key for key, value in topics[line["kind"]] if value["event_id"] == event.event_id}
        assert keys == {event.key()}


def metric_total(url: str, name: str, **labels: str) -> float:
    """Sum of a counter's samples at `url`/metrics whose labels include `labels` (the exposed
    name carries the `parklink_` namespace)."""
    text = httpx.get(f"{url}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"(?:parklink_)?{re.escape(name)}\{{(.*)\}} (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total
