"""CAPACITY_SHORTFALL and CAPACITY_DROP through the in-memory engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories
import pytest

from parklink.detector.engine import Engine
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert, Severity

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SUBJECT = "CN-QD-SCODA|8704|2026-12-07"
SHORTFALL = f"CAPACITY_SHORTFALL|{SUBJECT}"
DROP = f"CAPACITY_DROP|{SUBJECT}"


def at(minutes: int) -> str:
    return (NOW + timedelta(minutes=minutes)).isoformat()


@pytest.fixture
def engine() -> Engine:
    return Engine(Thresholds())


def only(alerts: list[DisruptionAlert], alert_id: str) -> list[DisruptionAlert]:
    return [a for a in alerts if a.alert_id == alert_id]


def test_no_capacity_declared_means_no_shortfall(engine: Engine) -> None:
    assert engine.process(factories.order(quantity=10_000), NOW) == []


def test_demand_above_actual_but_within_maximum_is_a_warning(engine: Engine) -> None:
    cap = factories.capacity(event_time=at(0))  # actual 100, maximum 130
    engine.process(cap, NOW)
    order = factories.order(order_id="PO-1", quantity=120, due_date="2026-12-09")
    [alert] = engine.process(order, NOW)
    assert alert.alert_id == SHORTFALL
    assert (alert.severity, alert.status) == (Severity.WARNING, AlertStatus.FIRING)
    assert alert.impacted_orders == ["PO-1"]
    assert alert.parks == ["CN-QD-SCODA", "KZ-ALA-IPA"]
    assert alert.metrics["demand"] == 120
    assert alert.metrics["capacity"] == 100
    assert alert.metrics["maximum"] == 130
    assert alert.evidence == [cap.event_id, order.event_id]


def test_demand_equal_to_actual_is_no_alert(engine: Engine) -> None:
    engine.process(factories.capacity(), NOW)
    assert engine.process(factories.order(quantity=100), NOW) == []


def test_above_maximum_is_critical_and_orders_in_other_weeks_do_not_count(
    engine: Engine,
) -> None:
    engine.process(factories.capacity(), NOW)
    engine.process(factories.order(order_id="PO-1", quantity=120, due_date="2026-12-13"), NOW)
    # due on the Monday of the next week: another bucket
    assert (
        engine.process(factories.order(order_id="PO-X", quantity=500, due_date="2026-12-14"), NOW)
        == []
    )
    [alert] = engine.process(factories.order(order_id="PO-2", quantity=20), NOW)
    assert (alert.severity, alert.impacted_orders) == (Severity.CRITICAL, ["PO-1", "PO-2"])


def test_without_a_maximum_critical_starts_above_1_2_times_actual(engine: Engine) -> None:
    engine.process(factories.capacity(maximum_capacity=None), NOW)
    [warn] = engine.process(factories.order(order_id="PO-1", quantity=120), NOW)
    assert warn.severity is Severity.WARNING
    [crit] = engine.process(factories.order(order_id="PO-2", quantity=1), NOW)
    assert crit.severity is Severity.CRITICAL


def test_cancelling_an_order_resolves_the_shortfall(engine: Engine) -> None:
    engine.process(factories.capacity(), NOW)
    engine.process(factories.order(order_id="PO-1", quantity=60, event_time=at(1)), NOW)
    [fired] = engine.process(factories.order(order_id="PO-2", quantity=60, event_time=at(1)), NOW)
    assert fired.status is AlertStatus.FIRING
    [resolved] = engine.process(
        factories.order(order_id="PO-2", quantity=60, status="CANCELLED", event_time=at(5)),
        NOW + timedelta(minutes=5),
    )
    assert resolved.status is AlertStatus.RESOLVED
    assert resolved.resolved_at == NOW + timedelta(minutes=5)


def test_moving_an_order_to_another_week_takes_its_demand_along(engine: Engine) -> None:
    engine.process(factories.capacity(), NOW)
    engine.process(factories.order(order_id="PO-1", quantity=150, event_time=at(1)), NOW)
    out = engine.process(
        factories.order(order_id="PO-1", quantity=150, due_date="2026-12-21", event_time=at(2)),
        NOW,
    )
    assert [(a.alert_id, a.status) for a in out] == [(SHORTFALL, AlertStatus.RESOLVED)]


def test_a_capacity_raise_resolves_the_shortfall(engine: Engine) -> None:
    engine.process(factories.capacity(event_time=at(0)), NOW)
    engine.process(factories.order(quantity=120), NOW)
    out = engine.process(
        factories.capacity(actual_capacity=130, maximum_capacity=150, event_time=at(3)), NOW
    )
    assert [(a.alert_id, a.status) for a in out] == [(SHORTFALL, AlertStatus.RESOLVED)]


def test_a_late_older_capacity_does_not_override_the_newer_one(engine: Engine) -> None:
    engine.process(
        factories.capacity(actual_capacity=200, maximum_capacity=200, event_time=at(5)), NOW
    )
    engine.process(factories.order(quantity=120), NOW)
    late = factories.capacity(actual_capacity=100, maximum_capacity=100, event_time=at(0))
    assert engine.process(late, NOW) == []
    assert engine.firing() == {}


def test_a_late_older_order_status_does_not_reopen_it(engine: Engine) -> None:
    engine.process(factories.capacity(), NOW)
    engine.process(factories.order(status="CANCELLED", quantity=500, event_time=at(5)), NOW)
    assert (
        engine.process(factories.order(status="PLACED", quantity=500, event_time=at(0)), NOW) == []
    )


def test_the_same_order_event_twice_changes_nothing(engine: Engine) -> None:
    engine.process(factories.capacity(), NOW)
    order = factories.order(quantity=60)
    assert engine.process(order, NOW) == []
    assert engine.process(order, NOW) == []  # counted once: 60 <= 100


def test_spare_capacity_names_the_right_parks(engine: Engine) -> None:
    engine.process(factories.capacity(), NOW)
    # KZ-ALA-IPA: maximum 80, own demand 30 -> 50 spare
    engine.process(
        factories.capacity(
            source_park="KZ-ALA-IPA", park_id="KZ-ALA-IPA", actual_capacity=60, maximum_capacity=80
        ),
        NOW,
    )
    engine.process(
        factories.order(
            order_id="PO-A",
            source_park="UZ-TAS-NAVOI",
            supplier_park="KZ-ALA-IPA",
            buyer_park="UZ-TAS-NAVOI",
            quantity=30,
        ),
        NOW,
    )
    # UZ-TAS-NAVOI: no maximum, actual 40 fully booked -> no spare
    engine.process(
        factories.capacity(
            source_park="UZ-TAS-NAVOI",
            park_id="UZ-TAS-NAVOI",
            actual_capacity=40,
            maximum_capacity=None,
        ),
        NOW,
    )
    engine.process(factories.order(order_id="PO-U", supplier_park="UZ-TAS-NAVOI", quantity=40), NOW)
    # RU-NSK-TECH: declared for another category -> not a candidate
    engine.process(
        factories.capacity(
            source_park="RU-NSK-TECH",
            park_id="RU-NSK-TECH",
            category="8703",
            actual_capacity=900,
            maximum_capacity=900,
        ),
        NOW,
    )
    [alert] = only(engine.process(factories.order(quantity=120), NOW), SHORTFALL)
    assert alert.metrics["spare|KZ-ALA-IPA"] == 50
    assert not any(k.startswith("spare|") and k != "spare|KZ-ALA-IPA" for k in alert.metrics)
    assert "spare capacity at KZ-ALA-IPA (50 pcs)" in alert.summary


def test_a_drop_below_70_percent_warns_below_40_is_critical(engine: Engine) -> None:
    engine.process(factories.capacity(actual_capacity=100, event_time=at(0)), NOW)
    assert engine.process(factories.capacity(actual_capacity=70, event_time=at(1)), NOW) == []
    [warn] = engine.process(factories.capacity(actual_capacity=48, event_time=at(2)), NOW)
    assert (warn.alert_id, warn.severity) == (DROP, Severity.WARNING)
    assert warn.metrics == {
        "capacity": 48,
        "previous_capacity": 70,
        "ratio": pytest.approx(48 / 70, rel=1e-3),
    }
    [crit] = engine.process(factories.capacity(actual_capacity=27, event_time=at(3)), NOW)
    assert (crit.alert_id, crit.severity) == (DROP, Severity.CRITICAL)


def test_a_drop_resolves_once_back_at_70_percent_of_the_value_before_it(engine: Engine) -> None:
    engine.process(factories.capacity(actual_capacity=100, event_time=at(0)), NOW)
    engine.process(factories.capacity(actual_capacity=50, event_time=at(1)), NOW)
    # 65 is more than 70 % of 50 but still below 70 % of 100
    assert engine.process(factories.capacity(actual_capacity=65, event_time=at(2)), NOW) == []
    [back] = engine.process(factories.capacity(actual_capacity=70, event_time=at(3)), NOW)
    assert (back.alert_id, back.status) == (DROP, AlertStatus.RESOLVED)


def test_a_late_declaration_is_placed_in_event_time_order(engine: Engine) -> None:
    engine.process(factories.capacity(actual_capacity=100, event_time=at(0)), NOW)
    engine.process(factories.capacity(actual_capacity=95, event_time=at(10)), NOW)
    # arrives last but happened in between: 100 -> 30 -> 95 recovered, nothing fires now
    assert engine.process(factories.capacity(actual_capacity=30, event_time=at(5)), NOW) == []
