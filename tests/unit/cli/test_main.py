"""The `parklink` parser is cheap to build: every call of the command builds all of it, so no
command module may load a service's stack (web framework, Kafka clients, Avro, the database
layer, settings) before its own handler runs; and the handlers still find what they import."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from parklink.cli import publish
from parklink.eventkit import validation
from parklink.simulator import cli as simulator_cli
from parklink.simulator.scenarios import SCENARIOS

HEAVY = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "kafka",
    "aiokafka",
    "faust",
    "mode",
    "httpx",
    "fastavro",
    "avro",
    "uvicorn",
    "prometheus_client",
    "pydantic_settings",
    "pydantic",
    "psycopg",
)
"""Top-level packages that only the command which runs may load (pydantic alone, through the
event models, costs a third of a second of CPU)."""

LIST_LOADED = (
    "import sys\n"
    "from parklink.cli.main import build_parser\n"
    "build_parser()\n"
    "print('\\n'.join(sorted(sys.modules)))\n"
)


def test_building_the_parser_loads_no_service_stack() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LIST_LOADED],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    modules = set(done.stdout.split())
    assert "parklink.cli.tokens" in modules
    assert sorted({name.partition(".")[0] for name in modules}.intersection(HEAVY)) == []
    # Reading the installed version costs as much again: only `--version` does it.
    assert "importlib.metadata" not in modules


def test_version_is_the_installed_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "parklink.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"parklink {version('parklink')}\n",
        "",
    )


def test_spelled_out_choices_are_the_real_ones() -> None:
    assert publish.KINDS == validation.KINDS
    assert tuple(SCENARIOS) == simulator_cli.SCENARIO_NAMES


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["publish", "--kind", "orders", "missing.jsonl"], "missing.jsonl is not a file"),
        (["subscribe", "orders", "--max", "0"], "--max must be at least 1"),
        (["dlq", "list", "--since", "last week"], "give an ISO 8601 time"),
        (["token", "issue", "--park", "not-a-park"], "'not-a-park' is not a park id"),
    ],
)
def test_handlers_load_their_work_when_they_run(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """Each handler imports its stack, then refuses bad input with a clear error, before any
    network or store is touched."""
    done = subprocess.run(
        [sys.executable, "-m", "parklink.cli", *args],
        cwd=tmp_path,
        env={**os.environ, "PARKLINK_STATE_DIR": str(tmp_path / "state")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: ")
    assert message in done.stderr
