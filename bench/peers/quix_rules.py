"""SHIPMENT_DELAY and CORRIDOR_CONGESTION as a Quix Streams application: the peer the
shipments benchmark holds ParkLink's detector against. It runs in the benchmark's own
virtualenv (quixstreams pins its own confluent-kafka), so it imports nothing from ParkLink.

    python quix_rules.py BOOTSTRAP REGISTRY_URL INPUT_TOPIC OUTPUT_TOPIC GROUP STATE_DIR

Stage 1, keyed by shipment id (RocksDB state): the latest update by (event_time, event_id)
gives status, plan and corridor, the latest update with an estimate gives the ETA; a repeat
or an older update changes nothing. When the shipment's delay severity changes, a message
goes to its corridor. Stage 2, after `group_by` corridor: the corridor's delayed shipments,
the SHIPMENT_DELAY transition and, when the count or severity changes, CORRIDOR_CONGESTION.
Alerts are JSON records keyed `TYPE|subject` on the output topic. The wall-clock time of
the first record read is printed as `first-record <epoch ms>`."""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

HOUR_MS = 3_600_000
WARNING_MS, CRITICAL_MS = 24 * HOUR_MS, 72 * HOUR_MS
CONGESTION_WARNING, CONGESTION_CRITICAL = 3, 5
FINISHED = ("DELIVERED", "CANCELLED")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

_first = [True]


class State(Protocol):
    """What the stages use of Quix's per-key state (quixstreams.State)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def delete(self, key: str) -> None: ...


def _ms(moment: datetime | int) -> int:
    if isinstance(moment, int):
        return moment
    return (moment - EPOCH) // _MS


def delay_severity(ship: dict[str, Any]) -> str | None:
    if ship["status"] in FINISHED or ship["eta"] is None:
        return None
    late = ship["eta"] - ship["planned"]
    if late > CRITICAL_MS:
        return "CRITICAL"
    if late > WARNING_MS:
        return "WARNING"
    return None


def shipment_stage(event: dict[str, Any], state: State) -> list[dict[str, Any]]:
    if _first[0]:
        _first[0] = False
        print(f"first-record {time.time_ns() // 1_000_000}", flush=True)
    t, eid = _ms(event["event_time"]), event["event_id"]
    raw_eta = event.get("estimated_arrival")
    eta = None if raw_eta is None else _ms(raw_eta)
    held: dict[str, Any] | None = state.get("s")
    if held is None:
        held = {
            "t": t,
            "id": eid,
            "status": event["status"],
            "planned": _ms(event["planned_arrival"]),
            "corridor": event["corridor"],
            "eta": eta,
            "eta_t": t if eta is not None else -1,
            "eta_id": eid if eta is not None else "",
            "sev": None,
        }
    else:
        changed = False
        if (t, eid) > (held["t"], held["id"]):
            held.update(
                t=t,
                id=eid,
                status=event["status"],
                planned=_ms(event["planned_arrival"]),
                corridor=event["corridor"],
            )
            changed = True
        if eta is not None and (t, eid) > (held["eta_t"], held["eta_id"]):
            held.update(eta=eta, eta_t=t, eta_id=eid)
            changed = True
        if not changed:
            return []
    out: list[dict[str, Any]] = []
    severity = delay_severity(held)
    if severity != held["sev"]:
        held["sev"] = severity
        out.append(
            {"corridor": held["corridor"], "shipment": event["shipment_id"], "severity": severity}
        )
    state.set("s", held)
    return out


def _alert(kind: str, subject: str, severity: str | None, count: int = 0) -> dict[str, Any]:
    return {
        "type": kind,
        "subject": subject,
        "severity": severity,
        "status": "FIRING" if severity else "RESOLVED",
        "count": count,
    }


def corridor_stage(msg: dict[str, Any], state: State) -> list[dict[str, Any]]:
    shipment, severity, corridor = msg["shipment"], msg["severity"], msg["corridor"]
    key = "d:" + shipment
    before = state.get(key)
    count: int = state.get("count", 0)
    out: list[dict[str, Any]] = []
    if severity is None:
        if before is None:
            return out
        state.delete(key)
        count -= 1
    else:
        state.set(key, severity)
        count += before is None
    out.append(_alert("SHIPMENT_DELAY", shipment, severity))
    congested = (
        "CRITICAL"
        if count >= CONGESTION_CRITICAL
        else "WARNING"
        if count >= CONGESTION_WARNING
        else None
    )
    was = state.get("c")
    if congested is not None and (congested != was or before is None or severity is None):
        out.append(_alert("CORRIDOR_CONGESTION", corridor, congested, count))
    elif congested is None and was is not None:
        out.append(_alert("CORRIDOR_CONGESTION", corridor, None, count))
    state.set("c", congested)
    state.set("count", count)
    return out


def main(argv: list[str]) -> int:
    # Quix Streams lives in the benchmark's own virtualenv; the stages above are plain code.
    from quixstreams import Application  # type: ignore[import-not-found]
    from quixstreams.kafka.configuration import (  # type: ignore[import-not-found]
        ConnectionConfig,
    )
    from quixstreams.models.serializers.avro import (  # type: ignore[import-not-found]
        AvroDeserializer,
    )
    from quixstreams.models.serializers.schema_registry import (  # type: ignore[import-not-found]
        SchemaRegistryClientConfig,
    )

    bootstrap, registry, source, sink, group, state_dir = argv
    # The bench broker's login (SASL_SSL), from the environment the bench gives.
    login = json.loads(os.environ.get("PEER_KAFKA_CONFIG", "{}"))
    app = Application(
        broker_address=ConnectionConfig.from_librdkafka_dict(
            {"bootstrap.servers": bootstrap, **login}
        ),
        consumer_group=group,
        auto_offset_reset="earliest",
        commit_interval=1.0,
        state_dir=state_dir,
        loglevel="WARNING",
    )
    shipments = app.topic(
        source,
        key_deserializer="str",
        value_deserializer=AvroDeserializer(
            schema_registry_client_config=SchemaRegistryClientConfig(url=registry)
        ),
    )
    alerts = app.topic(sink, key_serializer="str", value_serializer="json")
    sdf = app.dataframe(shipments)
    sdf = sdf.apply(shipment_stage, stateful=True, expand=True)
    sdf = sdf.group_by(lambda m: m["corridor"], name="corridor")
    sdf = sdf.apply(corridor_stage, stateful=True, expand=True)
    sdf.to_topic(alerts, key=lambda a: f"{a['type']}|{a['subject']}")
    app.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
