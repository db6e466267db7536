"""The Quix Streams peer's stages, run in process over a dict per key (the framework only
moves the records and keeps the state), leave the reference model's firing set: the peer
implements the same rules as the detector is measured against."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from bench.peers.backlog import Fired, generate, reference
from bench.peers.quix_rules import corridor_stage, shipment_stage
from parklink.eventkit.contracts import ShipmentEvent
from parklink.eventkit.schemas import parsed_schema
from parklink.eventkit.serde import decode_body, encode_body


class DictState:
    """A key's state as Quix keeps it: values stored as copies."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        return copy.deepcopy(self.data.get(key, default))

    def set(self, key: str, value: Any) -> None:
        self.data[key] = copy.deepcopy(value)

    def delete(self, key: str) -> None:
        del self.data[key]


def play(events: list[ShipmentEvent]) -> set[Fired]:
    schema = parsed_schema(ShipmentEvent.schema_name)
    shipments: defaultdict[str, DictState] = defaultdict(DictState)
    corridors: defaultdict[str, DictState] = defaultdict(DictState)
    latest: dict[str, dict[str, Any]] = {}
    for event in events:
        decoded = decode_body(schema, schema, encode_body(schema, event.to_avro()))
        for msg in shipment_stage(decoded, shipments[event.shipment_id]):
            for alert in corridor_stage(msg, corridors[msg["corridor"]]):
                latest[f"{alert['type']}|{alert['subject']}"] = alert
    return {
        (a["type"], a["subject"], a["severity"]) for a in latest.values() if a["status"] == "FIRING"
    }


def test_the_quix_stages_conclude_what_the_reference_does() -> None:
    backlog = generate(datetime(2026, 10, 1, tzinfo=UTC), shipments=1_500, total=7_600)
    expected = reference(backlog.events)
    assert any(kind == "CORRIDOR_CONGESTION" for kind, _, _ in expected)
    assert play(backlog.events) == expected


def test_a_resolved_delay_and_a_shrinking_corridor_resolve() -> None:
    backlog = generate(datetime(2026, 10, 1, tzinfo=UTC), shipments=300, total=1_600)
    fired = play(backlog.events)
    assert fired == reference(backlog.events)
    # every delayed shipment delivered: nothing fires any more
    delivered = [
        e.model_copy(
            update={
                "event_id": f"{n:08d}-0000-4000-8000-000000000000",
                "event_time": e.event_time.replace(year=2027),
                "status": "DELIVERED",
            }
        )
        for n, e in enumerate(backlog.events)
    ]
    assert play(backlog.events + delivered) == set()
