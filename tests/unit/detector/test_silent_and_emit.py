"""PARK_SILENT by wall clock, and the emitter's start / change / resolve rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import factories

from parklink.detector.engine import Engine
from parklink.detector.rules.emit import transition
from parklink.detector.state import AlertState
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertStatus, Severity

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def test_a_park_is_silent_after_6_hours_critical_after_24_and_clears_when_it_publishes() -> None:
    engine = Engine(Thresholds())
    assert engine.tick(NOW) == []  # never published: nothing to say
    engine.process(factories.order(source_park="KZ-ALA-IPA"), NOW, published=NOW)
    assert engine.tick(NOW + 6 * H - timedelta(seconds=1)) == []
    [warn] = engine.tick(NOW + 6 * H)
    assert (warn.alert_id, warn.severity) == ("PARK_SILENT|KZ-ALA-IPA", Severity.WARNING)
    assert warn.parks == ["KZ-ALA-IPA"]
    assert engine.tick(NOW + 7 * H) == []  # still the same silence: nothing new
    [crit] = engine.tick(NOW + 24 * H)
    assert crit.severity is Severity.CRITICAL
    assert crit.started_at == warn.started_at
    [back] = engine.process(
        factories.shipment(source_park="KZ-ALA-IPA", estimated_arrival=None),
        NOW + 25 * H,
        published=NOW + 25 * H,
    )
    assert (back.status, back.resolved_at) == (AlertStatus.RESOLVED, NOW + 25 * H)


def test_silence_counts_from_the_publish_time_not_the_event_time() -> None:
    engine = Engine(Thresholds())
    old = factories.order(event_time=(NOW - 30 * H).isoformat())
    engine.process(old, NOW, published=NOW)
    assert engine.tick(NOW + H) == []


def test_thresholds_in_seconds_for_tests() -> None:
    engine = Engine(Thresholds(silent_warning_seconds=2, silent_critical_seconds=4))
    engine.process(factories.capacity(), NOW, published=NOW)
    [warn] = engine.tick(NOW + timedelta(seconds=2))
    assert warn.severity is Severity.WARNING
    assert "has published nothing for 2 s (last at" in warn.summary


def test_silence_is_worded_in_minutes_under_an_hour_and_in_hours_above() -> None:
    engine = Engine(Thresholds(silent_warning_seconds=300, silent_critical_seconds=7200))
    engine.process(factories.capacity(), NOW, published=NOW)
    [warn] = engine.tick(NOW + timedelta(minutes=5))
    assert "has published nothing for 5 min (last at" in warn.summary
    [crit] = engine.tick(NOW + timedelta(hours=2, minutes=30))
    assert "has published nothing for 2.5 h (last at" in crit.summary


def _state(
    severity: Severity | None, orders: tuple[str, ...] = ("PO-1",), at: int = 0
) -> AlertState:
    return AlertState(
        type="SHIPMENT_DELAY",
        subject="SH-1",
        severity=severity,
        summary="s",
        parks=("CN-QD-SCODA",),
        impacted_orders=orders,
        metrics={"delay_hours": 30},
        at=at,
    )


def test_emit_start_change_resolve_and_nothing_in_between() -> None:
    assert transition(None, _state(None)) is None
    start = transition(None, _state(Severity.WARNING, at=1000))
    assert start is not None and start.status is AlertStatus.FIRING
    assert transition(start, _state(Severity.WARNING, at=2000)) is None
    grown = transition(start, _state(Severity.WARNING, ("PO-1", "PO-2"), at=3000))
    assert grown is not None and grown.impacted_orders == ["PO-1", "PO-2"]
    assert grown.started_at == start.started_at
    resolved = transition(grown, _state(None, at=4000))
    assert resolved is not None and resolved.status is AlertStatus.RESOLVED
    assert resolved.impacted_orders == ["PO-1", "PO-2"]  # what it was about stays visible
    assert transition(resolved, _state(None, at=5000)) is None
    again = transition(resolved, _state(Severity.CRITICAL, at=6000))
    assert again is not None and again.started_at.timestamp() == 6
    assert again.resolved_at is None
