"""A capacity declaration for a week that has left the tables (it ended more than the week
retention before the record arrived) is refused as `past-week`: it would bring that week
back, empty."""

from __future__ import annotations

from datetime import UTC, datetime

import factories

from parklink.detector.engine import Engine
from parklink.detector.events import of_model
from parklink.detector.rules import admission
from parklink.detector.stages import Stages
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.bounds import TimeBounds

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
LIMITS = Thresholds(week_retention_days=35)


def test_a_declaration_for_a_long_past_week_is_refused_with_its_reason() -> None:
    eng = Engine(LIMITS, TimeBounds())
    # The week of 2026-10-05 ended on 2026-10-12, 42 days before T0.
    past = factories.capacity(event_time=T0.isoformat(), week_start="2026-10-05")
    assert eng.process(past, T0) == []
    [(event, reason, message)] = eng.refused
    assert event == of_model(past) and reason == admission.PAST_WEEK == "past-week"
    assert "week of 2026-10-05" in message and "35 days" in message
    assert eng.tables["week-heads"].get("8704|2026-10-05") is None


def test_a_declaration_for_a_recent_or_coming_week_is_admitted() -> None:
    eng = Engine(LIMITS, TimeBounds())
    # The week of 2026-10-26 ended on 2026-11-02, 21 days before T0: still watched.
    for week in ("2026-10-26", "2026-12-07"):
        eng.process(factories.capacity(event_time=T0.isoformat(), week_start=week), T0)
        assert eng.tables["week-heads"].get(f"8704|{week}") is not None
    assert eng.refused == []


def test_the_week_is_judged_by_the_records_arrival() -> None:
    retention = Stages(LIMITS, TimeBounds()).retention
    event = factories.capacity(event_time=T0.isoformat(), week_start="2026-10-05")
    arrived = int(datetime(2026, 11, 10, tzinfo=UTC).timestamp() * 1000)  # 29 days after
    assert admission.capacity_week(of_model(event), arrived, retention) is None
    later = int(T0.timestamp() * 1000)
    refusal = admission.capacity_week(of_model(event), later, retention)
    assert refusal is not None and refusal.reason == "past-week"
