"""SHIPMENT_DELAY and CORRIDOR_CONGESTION through the in-memory engine (the same stages the
faust workers run)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories
import pytest

from parklink.detector.engine import Engine
from parklink.detector.events import of_model
from parklink.detector.rules import shipments
from parklink.detector.state import ShipmentEntity
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert, Severity, ShipmentEvent

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PLANNED = datetime(2026, 11, 30, tzinfo=UTC)


def late(hours: float, **fields: object) -> ShipmentEvent:
    base: dict[str, object] = {
        "planned_arrival": PLANNED.isoformat(),
        "estimated_arrival": (PLANNED + timedelta(hours=hours)).isoformat(),
    }
    base.update(fields)
    return factories.shipment(**base)


def at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def engine() -> Engine:
    # The clock stays at NOW while the events move on by minutes: a day of skew lets them in.
    return Engine(Thresholds(), TimeBounds(skew=timedelta(days=1)))


def states(alerts: list[DisruptionAlert]) -> list[tuple[str, str, str]]:
    return [(a.alert_id, a.status.value, a.severity.value) for a in alerts]


def test_exactly_24_hours_late_is_no_alert(engine: Engine) -> None:
    assert engine.process(late(24), NOW) == []


def test_just_over_24_hours_is_a_warning_with_the_impact_chain(engine: Engine) -> None:
    event = late(24.5, order_ids=["PO-1", "PO-2"])
    [alert] = engine.process(event, NOW)
    assert alert.alert_id == "SHIPMENT_DELAY|SH-1"
    assert (alert.type, alert.severity, alert.status) == (
        "SHIPMENT_DELAY",
        Severity.WARNING,
        AlertStatus.FIRING,
    )
    assert alert.impacted_orders == ["PO-1", "PO-2"]
    assert alert.impacted_shipments == ["SH-1"]
    assert alert.parks == ["CN-QD-SCODA", "KZ-ALA-IPA"]
    assert alert.corridor == "QD-KHR-ALA-RAIL"
    assert alert.evidence == [event.event_id]
    assert alert.metrics["delay_hours"] == 24.5
    assert "24.5 h late" in alert.summary
    assert alert.started_at == alert.updated_at == NOW


def test_72_hours_is_warning_and_above_is_critical(engine: Engine) -> None:
    assert states(engine.process(late(72, event_time=at(0)), NOW)) == [
        ("SHIPMENT_DELAY|SH-1", "FIRING", "WARNING")
    ]
    [alert] = engine.process(late(72.5, event_time=at(1)), NOW + timedelta(minutes=1))
    assert (alert.severity, alert.status) == (Severity.CRITICAL, AlertStatus.FIRING)
    assert alert.started_at == NOW  # the same problem, escalated


def test_an_eta_correction_resolves(engine: Engine) -> None:
    engine.process(late(30, event_time=at(0)), NOW)
    [alert] = engine.process(late(20, event_time=at(5)), NOW + timedelta(minutes=5))
    assert alert.status is AlertStatus.RESOLVED
    assert alert.resolved_at == NOW + timedelta(minutes=5)
    assert alert.started_at == NOW


def test_delivered_resolves_even_while_the_eta_says_late(engine: Engine) -> None:
    engine.process(late(30, event_time=at(0)), NOW)
    [alert] = engine.process(
        factories.shipment(status="DELIVERED", event_time=at(9), estimated_arrival=None), NOW
    )
    assert alert.status is AlertStatus.RESOLVED
    assert "delivered" in alert.summary


def test_a_change_that_is_neither_severity_nor_impact_emits_nothing(engine: Engine) -> None:
    engine.process(late(30, event_time=at(0)), NOW)
    assert engine.process(late(40, event_time=at(1), status="CUSTOMS_HOLD"), NOW) == []
    [more] = engine.process(late(40, event_time=at(2), order_ids=["PO-1001", "PO-9"]), NOW)
    assert more.impacted_orders == ["PO-1001", "PO-9"]


def test_a_late_older_event_does_not_override_a_newer_one(engine: Engine) -> None:
    engine.process(late(10, event_time=at(10)), NOW)
    assert engine.process(late(50, event_time=at(0)), NOW) == []
    assert engine.firing() == {}


def test_the_latest_eta_wins_even_if_the_latest_event_has_none(engine: Engine) -> None:
    engine.process(late(30, event_time=at(0)), NOW)
    assert engine.process(late(30, event_time=at(1), estimated_arrival=None), NOW) == []
    assert "SHIPMENT_DELAY|SH-1" in engine.firing()


def test_the_same_event_id_twice_changes_nothing(engine: Engine) -> None:
    event = late(30)
    assert len(engine.process(event, NOW)) == 1
    assert engine.process(event, NOW + timedelta(hours=1)) == []
    engine.process(late(10, event_time="2026-11-23T07:00:00Z"), NOW)
    assert engine.process(event, NOW) == []  # an old repeat cannot bring the delay back
    assert engine.firing() == {}


def _jam(engine: Engine, count: int, hours: float = 30) -> list[DisruptionAlert]:
    out: list[DisruptionAlert] = []
    for i in range(1, count + 1):
        out += engine.process(
            late(hours, shipment_id=f"SH-{i}", order_ids=[f"PO-{i}"], event_time=at(i)), NOW
        )
    return out


def test_three_delayed_shipments_congest_the_corridor_five_make_it_critical(
    engine: Engine,
) -> None:
    alerts = _jam(engine, 5)
    congestion = [a for a in alerts if a.type == "CORRIDOR_CONGESTION"]
    assert [(a.severity, len(a.impacted_shipments)) for a in congestion] == [
        (Severity.WARNING, 3),
        (Severity.WARNING, 4),  # the impact grew
        (Severity.CRITICAL, 5),
    ]
    last = congestion[-1]
    assert last.alert_id == "CORRIDOR_CONGESTION|QD-KHR-ALA-RAIL"
    assert last.corridor == "QD-KHR-ALA-RAIL"
    assert last.impacted_orders == [f"PO-{i}" for i in range(1, 6)]
    assert last.metrics["delayed_shipments"] == 5


def test_congestion_resolves_below_three(engine: Engine) -> None:
    _jam(engine, 3)
    out = engine.process(
        factories.shipment(shipment_id="SH-2", status="DELIVERED", event_time=at(30)), NOW
    )
    assert [(a.type, a.status) for a in out] == [
        ("SHIPMENT_DELAY", AlertStatus.RESOLVED),
        ("CORRIDOR_CONGESTION", AlertStatus.RESOLVED),
    ]


def test_a_shipment_that_moves_corridor_leaves_the_old_one(engine: Engine) -> None:
    _jam(engine, 3)
    out = engine.process(
        late(30, shipment_id="SH-3", order_ids=["PO-3"], corridor="QD-ALA-ROAD", event_time=at(40)),
        NOW,
    )
    # The delay itself is unchanged (same severity, parks, orders): only the old corridor
    # drops below three.
    assert [(a.alert_id, a.status) for a in out] == [
        ("CORRIDOR_CONGESTION|QD-KHR-ALA-RAIL", AlertStatus.RESOLVED),
    ]
    assert "CORRIDOR_CONGESTION|QD-ALA-ROAD" not in engine.firing()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"estimated_arrival": None},
        {"status": "DELIVERED"},
        {"estimated_arrival": (PLANNED + timedelta(hours=30)).isoformat()},
        {"estimated_arrival": (PLANNED + timedelta(hours=80)).isoformat()},
        {"estimated_arrival": (PLANNED + timedelta(hours=24)).isoformat()},
    ],
)
def test_the_cheap_delay_impact_matches_the_worded_alert(fields: dict[str, object]) -> None:
    # The shipment stage compares impacts without wording alerts; both must agree.
    ship = ShipmentEntity.of(of_model(late(2, **fields)))
    limits = Thresholds()
    assert shipments.delay_impact(ship, limits) == shipments.delay_alert(ship, limits, 0).impact()
