"""The detector's topology, declared once: its stages (what each reads, how its input is
keyed, its state tables, what it sends on), its own topics and its tables. The faust worker
(`app.py`) and the in-memory `Engine` (`engine.py`) are both built from these tables, so the
path the unit tests take cannot drift from the one the workers run. docs/detector.md draws
the flow.

Every message between stages carries, for one key, the items that one batch of the sending
stage produced for it, in order: a hop costs per key and batch rather than per record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from parklink.detector import agents
from parklink.detector.ports import Message, StageIO
from parklink.detector.state import (
    AlertState,
    CorridorHead,
    OrderEntity,
    OrderView,
    ParkActivity,
    ParkMessage,
    ShipmentEntity,
    ShipmentView,
    WeekHead,
    WeekMessage,
)
from parklink.eventkit.contracts import DisruptionAlert

Handler = Callable[[StageIO, Sequence[Message]], None]

SOURCES = ("orders", "shipments", "capacity")
"""The park topics (catalog roles) the detector reads."""

ALERTS = "alerts"
"""Partitioned like the alerts topic (catalog role), which holds exactly the same keys."""
INTERNAL = "internal"
"""Partitioned by PARKLINK_DETECTOR_PARTITIONS."""


@dataclass(frozen=True)
class TopicSpec:
    """One of the detector's own topics, `<prefix><group>-<suffix>`, named `name` in the
    stages (an output a handler sends to, the input of the next stage)."""

    name: str
    suffix: str
    item: type[Any]
    partitions: str  # INTERNAL or ALERTS


@dataclass(frozen=True)
class TableSpec:
    name: str
    value: type[Any]
    partitions: str  # a source role (co-partitioned with that topic), INTERNAL or ALERTS
    changelog_is_alerts: bool = False  # the alerts topic itself is the changelog
    every_write: bool = False  # log every write, not only a batch's last one per key


@dataclass(frozen=True)
class Stage:
    name: str
    input: str  # a source role or the name of one of TOPICS
    key: str
    tables: tuple[str, ...]
    outputs: tuple[str, ...]  # names of TOPICS
    handle: Handler
    concludes: bool = False
    """Its table writes are acknowledged by Kafka before its outputs are sent: after a crash
    the restored state is then never behind a conclusion already passed on, so a replay can
    only repeat conclusions (which the alert stage drops), never send older ones."""

    @property
    def source(self) -> bool:
        return self.input in SOURCES


TOPICS = (
    TopicSpec("weeks", "week-batches", WeekMessage, INTERNAL),
    TopicSpec("corridors", "corridor-batches", ShipmentView, INTERNAL),
    TopicSpec("parks", "park-batches", ParkMessage, INTERNAL),
    TopicSpec("alerts", "alert-batches", AlertState, ALERTS),
)

TABLES = (
    TableSpec("orders", OrderEntity, "orders"),
    TableSpec("shipments", ShipmentEntity, "shipments"),
    TableSpec("week-heads", WeekHead, INTERNAL),
    TableSpec("week-orders", OrderView, INTERNAL),
    TableSpec("corridor-heads", CorridorHead, INTERNAL),
    TableSpec("corridor-shipments", ShipmentView, INTERNAL),
    TableSpec("parks", ParkActivity, INTERNAL),
    TableSpec("emitted", DisruptionAlert, ALERTS, changelog_is_alerts=True, every_write=True),
)

TOPOLOGY = (
    # name, input, key of the input, tables, outputs, handler
    Stage("orders", "orders", "order_id", ("orders",), ("weeks", "parks"), agents.orders),
    Stage("capacity", "capacity", "park|category|week", (), ("weeks", "parks"), agents.capacity),
    Stage(
        "shipments",
        "shipments",
        "shipment_id",
        ("shipments",),
        ("corridors", "parks"),
        agents.shipments,
    ),
    Stage(
        "weeks",
        "weeks",
        "category|week",
        ("week-heads", "week-orders"),
        ("alerts",),
        agents.category_weeks,
        concludes=True,
    ),
    Stage(
        "corridors",
        "corridors",
        "corridor",
        ("corridor-heads", "corridor-shipments"),
        ("alerts",),
        agents.corridors,
        concludes=True,
    ),
    Stage("parks", "parks", "park", ("parks",), ("alerts",), agents.parks, concludes=True),
    Stage("alerts", "alerts", "alert_id", ("emitted",), (), agents.alerts),
)
"""In flow order. A worker runs each fetched batch's stages downstream first, so alerts get
out while the park topics still have a backlog."""

TICKS = "parks"
"""The topic that gets a wall-clock tick (ParkMessage(tick=...)) in every partition this
worker owns, every PARKLINK_SILENT_CHECK_SECONDS (for PARK_SILENT)."""


def topic(name: str) -> TopicSpec:
    return next(t for t in TOPICS if t.name == name)


def table(name: str) -> TableSpec:
    return next(t for t in TABLES if t.name == name)


def check() -> None:
    """Every stage reads something that exists and sends only to declared topics."""
    names = {t.name for t in TOPICS}
    tables = {t.name for t in TABLES}
    for stage in TOPOLOGY:
        if not (stage.source or stage.input in names):
            raise ValueError(f"stage {stage.name} reads an undeclared topic {stage.input}")
        if not set(stage.outputs) <= names:
            raise ValueError(f"stage {stage.name} sends to an undeclared topic")
        if not set(stage.tables) <= tables:
            raise ValueError(f"stage {stage.name} uses an undeclared table")
