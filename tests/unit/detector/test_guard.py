"""A record that makes a stage raise is set aside with the stage and the error; nothing it
half-did remains, and the other records of its batch count as if it had never come."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import factories
import pytest

from parklink.detector import agents, engine, guard, topology
from parklink.detector.events import millis, of_model
from parklink.detector.ports import Message, StageIO
from parklink.detector.thresholds import Thresholds

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _raising(io: StageIO, batch: Sequence[Message]) -> None:
    """The shipments handler, raising once it has staged its writes and outputs for a batch
    that holds SH-BOOM."""
    agents.shipments(io, batch)
    if any(msg.value.shipment_id == "SH-BOOM" for msg in batch):
        raise ZeroDivisionError("boom")


@pytest.fixture
def raising(monkeypatch: pytest.MonkeyPatch) -> engine.Engine:
    stages = tuple(
        dataclasses.replace(s, handle=_raising) if s.name == "shipments" else s
        for s in topology.TOPOLOGY
    )
    monkeypatch.setattr(engine, "TOPOLOGY", stages)
    return engine.Engine(Thresholds())


def test_a_raising_record_is_set_aside_and_the_next_one_still_alerts(
    raising: engine.Engine,
) -> None:
    boom = factories.shipment(shipment_id="SH-BOOM")  # 36 h late
    assert raising.process(boom, NOW) == []
    assert raising.refused == [
        (of_model(boom), guard.STAGE_ERROR, "stage shipments raised ZeroDivisionError: boom")
    ]
    assert raising.tables["shipments"].get("SH-BOOM") is None
    assert raising.tables["shipments"].data == {}

    alerts = raising.process(factories.shipment(shipment_id="SH-OK"), NOW)
    assert [(a.alert_id, a.status.value) for a in alerts] == [("SHIPMENT_DELAY|SH-OK", "FIRING")]
    assert set(raising.tables["shipments"].data) == {"SH-OK"}


def test_a_batch_that_raises_is_redone_record_by_record(raising: engine.Engine) -> None:
    stage = dataclasses.replace(
        next(s for s in topology.TOPOLOGY if s.name == "shipments"), handle=_raising
    )
    io = raising._io["shipments"]
    batch = [
        Message(
            shipment_id,
            of_model(factories.shipment(shipment_id=shipment_id)),
            0,
            offset,
            millis(NOW),
        )
        for offset, shipment_id in enumerate(("SH-1", "SH-BOOM", "SH-3"))
    ]

    failed = guard.run(stage, io, batch)

    assert [(msg.offset, message) for msg, message in failed] == [
        (1, "stage shipments raised ZeroDivisionError: boom")
    ]
    assert set(raising.tables["shipments"].data) == {"SH-1", "SH-3"}
    corridor_views = [
        view.shipment_id
        for (output, _), items in io.outbox.items()
        if output == "corridors"
        for view in items
    ]
    assert corridor_views == ["SH-1", "SH-3"]
    assert io.rejected == []


def test_a_rolled_back_stage_forgets_its_derived_memory_and_staged_writes() -> None:
    eng = engine.Engine(Thresholds())
    io = eng._io["shipments"]
    table = io.table("shipments")
    io.cache["heartbeats"] = {"CN-QD-SCODA": 1}
    table.put("SH-X", "staged", 0)
    assert table.get("SH-X") == "staged"
    assert dict(table.items()) == {"SH-X": "staged"}
    io.send("corridors", "C", "item")
    io.rollback()
    assert table.get("SH-X") is None
    assert io.cache == {}
    io.commit()
    assert io.outbox == {}
    assert table.data == {}


def test_a_wiring_error_is_not_a_record_error() -> None:
    eng = engine.Engine(Thresholds())
    with pytest.raises(guard.UndeclaredOutput):
        eng._io["orders"].send("alerts", "x", None)


def test_a_staged_delete_takes_effect_only_on_commit() -> None:
    eng = engine.Engine(Thresholds())
    io = eng._io["shipments"]
    table = eng.tables["shipments"]
    table.put("SH-X", "kept", 2)
    io.commit()
    table.delete("SH-X", 2)
    assert table.get("SH-X") is None
    assert list(table.entries()) == []
    io.rollback()
    assert list(table.entries()) == [("SH-X", "kept", 2)]
    assert table.deleted == []
    table.delete("SH-X", 2)
    io.commit()
    assert table.data == {}
    assert table.deleted == ["SH-X"]
