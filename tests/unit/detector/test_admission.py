"""What the detector takes in at all: party rules, parties bound at first sight, time bounds
judged on the record's arrival. A refused event changes nothing (the engine runs the same
stage handlers as the faust worker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories

from parklink.detector.engine import Engine
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import AlertStatus, ShipmentEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PLANNED = "2026-11-30T00:00:00Z"


def late(hours: float, **fields: object) -> ShipmentEvent:
    eta = (datetime(2026, 11, 30, tzinfo=UTC) + timedelta(hours=hours)).isoformat()
    return factories.shipment(planned_arrival=PLANNED, estimated_arrival=eta, **fields)


def reasons(engine: Engine) -> list[str]:
    return [reason for _, reason, _ in engine.refused]


def test_a_non_party_shipment_update_is_refused_and_changes_nothing() -> None:
    engine = Engine(Thresholds())
    engine.process(late(40, shipment_id="SH-1"), NOW)  # KZ-ALA-IPA, the destination
    assert engine.firing()["SHIPMENT_DELAY|SH-1"].severity.value == "WARNING"
    # PK-ISB-SEZ names itself the destination of SH-1 and says it was delivered.
    forged = late(
        0,
        shipment_id="SH-1",
        status="DELIVERED",
        source_park="PK-ISB-SEZ",
        destination_park="PK-ISB-SEZ",
        event_time="2026-11-23T10:00:00Z",
    )
    assert engine.process(forged, NOW) == []
    assert reasons(engine) == ["party-mismatch"]
    assert "SHIPMENT_DELAY|SH-1" in engine.firing()
    # A party's real update still goes through.
    delivered = late(0, shipment_id="SH-1", status="DELIVERED", event_time="2026-11-23T11:00:00Z")
    out = engine.process(delivered, NOW)
    assert [(a.alert_id, a.status) for a in out] == [("SHIPMENT_DELAY|SH-1", AlertStatus.RESOLVED)]


def test_an_order_between_other_parks_and_the_wrong_side_are_refused() -> None:
    engine = Engine(Thresholds())
    engine.process(factories.order(order_id="PO-7"), NOW)
    other = factories.order(
        order_id="PO-7",
        status="CONFIRMED",
        source_park="UZ-TAS-NAVOI",
        buyer_park="KZ-ALA-IPA",
        supplier_park="UZ-TAS-NAVOI",
    )
    engine.process(other, NOW)
    # The buyer may not say the supplier's CONFIRMED; a stranger may not speak at all.
    engine.process(factories.order(order_id="PO-7", status="CONFIRMED"), NOW)
    engine.process(factories.order(order_id="PO-8", source_park="RU-NSK-TECH"), NOW)
    assert reasons(engine) == ["party-mismatch", "party-rule", "party-rule"]
    held = engine.tables["orders"].data["PO-7"].latest
    assert (held.buyer_park, held.supplier_park, held.status) == (
        "KZ-ALA-IPA",
        "CN-QD-SCODA",
        "PLACED",
    )
    assert "PO-8" not in engine.tables["orders"].data


def test_event_times_are_judged_against_the_records_arrival() -> None:
    engine = Engine(Thresholds(), TimeBounds(timedelta(minutes=10), timedelta(days=30)))
    arrived = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
    soon = late(80, shipment_id="SH-F", event_time="2026-11-23T06:09:00Z")
    future = late(80, shipment_id="SH-G", event_time="2026-11-23T07:00:00Z")
    old = late(80, shipment_id="SH-O", event_time="2026-10-01T06:00:00Z")
    for event in (soon, future, old):
        engine.process(event, arrived, published=arrived)
    assert reasons(engine) == ["out-of-bounds", "out-of-bounds"]
    assert set(delays(engine)) == {"SHIPMENT_DELAY|SH-F"}
    # The same record judged on a replay long after: still as when it arrived.
    replayed = Engine(Thresholds(), TimeBounds(timedelta(minutes=10), timedelta(days=30)))
    replayed.process(soon, NOW + timedelta(days=60), published=arrived)
    assert replayed.refused == [] and set(delays(replayed)) == {"SHIPMENT_DELAY|SH-F"}


def delays(engine: Engine) -> list[str]:
    return [k for k in engine.firing() if k.startswith("SHIPMENT_DELAY|")]
