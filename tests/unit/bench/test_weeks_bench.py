"""The weekly stage's bench measures what it says: a supplier short of capacity, whose alert
names the first of its open orders and counts the rest (no timing here)."""

from __future__ import annotations

from bench import weeks as bench_weeks
from parklink.detector.rules import weeks
from parklink.detector.stages import Stages
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import Severity


def test_the_bench_week_is_a_firing_shortfall_of_all_its_orders() -> None:
    limits = Thresholds()
    week = bench_weeks._week(Stages(limits), 120)
    shortfall, _ = weeks.week_alerts(week, [bench_weeks.SUPPLIER], limits, 10)
    assert shortfall.severity == Severity.CRITICAL
    assert shortfall.metrics["open_orders"] == 120
    assert shortfall.metrics["orders_not_listed"] == 120 - limits.alert_list_limit
    assert shortfall.parks == tuple(sorted({bench_weeks.SUPPLIER, *bench_weeks.BUYERS}))
