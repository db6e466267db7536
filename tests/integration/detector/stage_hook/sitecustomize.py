"""Test-only: a detector worker started with this directory on PYTHONPATH runs a shipments
stage that raises on the shipment SH-RAISE after it has staged its writes and outputs (a
stand-in for any bug a record may trigger). Python imports `sitecustomize` at startup, so
the production code has no hook for it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from parklink.detector import agents, topology
from parklink.detector.ports import Message, StageIO

RAISE_ON = "SH-RAISE"


def _shipments(io: StageIO, batch: Sequence[Message]) -> None:
    agents.shipments(io, batch)
    if any(msg.value.shipment_id == RAISE_ON for msg in batch):
        raise ArithmeticError(f"injected failure on {RAISE_ON}")


_patched: Any = tuple(
    dataclasses.replace(s, handle=_shipments) if s.name == "shipments" else s
    for s in topology.TOPOLOGY
)
topology.TOPOLOGY = _patched
