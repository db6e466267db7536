"""The one declaration of the detector's stages: consistent, and the only wiring the
in-memory engine has (a stage that strays from what it declares fails)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import factories
import pytest

from parklink.detector import agents, engine, topology
from parklink.detector.ports import Message, StageIO
from parklink.detector.thresholds import Thresholds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_every_stage_reads_and_writes_only_declared_topics_and_tables() -> None:
    topology.check()
    inputs = [s.input for s in topology.TOPOLOGY]
    assert len(inputs) == len(set(inputs)), "one stage per input"
    fed = {o for s in topology.TOPOLOGY for o in s.outputs}
    assert fed == {t.name for t in topology.TOPICS}, "every own topic has a writer"


def test_the_stages_that_conclude_alerts_wait_for_their_state() -> None:
    concluding = {s.name for s in topology.TOPOLOGY if "alerts" in s.outputs}
    assert concluding == {s.name for s in topology.TOPOLOGY if s.concludes}


def _stray(io: StageIO, batch: Sequence[Message]) -> None:
    agents.orders(io, batch)
    io.send("alerts", "x", None)


def test_a_stage_sending_to_an_undeclared_output_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    stages = tuple(
        dataclasses.replace(s, handle=_stray) if s.name == "orders" else s
        for s in topology.TOPOLOGY
    )
    monkeypatch.setattr(engine, "TOPOLOGY", stages)
    with pytest.raises(KeyError, match="does not send to alerts"):
        engine.Engine(Thresholds()).process(factories.order(), NOW)
