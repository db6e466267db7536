"""Property-based requests generated from /openapi.json, with every schemathesis check: the
gateway never fails (5xx), answers only the statuses, headers and bodies its document
describes, refuses what the schema forbids and takes what it allows. What no JSON Schema
can state is taught to the generator, so that generated events get past it to everything
else instead of being refused early: the party rules (an event speaks for the token's park,
else 403), `event_time` against the gateway's clock, whose window the document states
(`x-parklink-event-time-window`; else 422), and the two rules the capacity schema states in
words (`week_start` a Monday, `maximum_capacity` at least `actual_capacity`; else 422). No
422 is tolerated. Dates and date-times are drawn from the years the document allows
(its pattern `^20[0-9]{2}-`): schemathesis draws them from all years and filters by the
pattern, which rejects nearly every case it builds."""

from __future__ import annotations

import contextlib
import copy
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from integration.gateway.conftest import PARK, RunningGateway
from openapi_checks import Refine, failures_of
from schemathesis.specs.openapi.formats import rfc3339_values

from parklink.eventkit.contracts import FIRST_YEAR, IN_YEARS_JSON_PATTERN, LAST_YEAR
from parklink.gateway.app import EVENT_TIME_WINDOW

pytestmark = pytest.mark.broker

MARGIN_S = 60.0
"""Kept from both ends of the window: the time between generating a case and its arrival."""


def event_time_window(doc: dict[str, Any]) -> tuple[float, float]:
    """(ahead_s, behind_s) of the document's event schemas, which must all state the same."""
    windows = {
        (w["ahead_s"], w["behind_s"])
        for schema in doc["components"]["schemas"].values()
        if (w := schema.get("properties", {}).get("event_time", {}).get(EVENT_TIME_WINDOW))
    }
    assert len(windows) == 1, windows  # OrderEvent, ShipmentEvent, CapacityEvent: one window
    (window,) = windows
    return window


def in_years() -> dict[str, st.SearchStrategy[str]]:
    """The `date` and `date-time` formats as schemathesis writes them (RFC 3339), of the
    years FIRST_YEAR to LAST_YEAR only, which are the values that match the pattern."""
    days = st.dates(date(FIRST_YEAR, 1, 1), date(LAST_YEAR, 12, 31)).map(date.isoformat)
    return {
        "date": days,
        "date-time": st.builds("{}T{}".format, days, rfc3339_values("full-time")),
    }


def years_of(doc: dict[str, Any]) -> set[str]:
    """The patterns of the document's `date` and `date-time` strings."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("format") in ("date", "date-time"):
                found.add(node.get("pattern", ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return found


PARTIES = {
    "/v1/events/orders": ("buyer_park", "supplier_park"),  # both: no side rule applies
    "/v1/events/shipments": ("origin_park",),
    "/v1/events/capacity": ("park_id",),
}
"""The fields that make an event of each kind the token's park's own."""


def monday_of(text: str) -> str:
    """The Monday of the ISO week of a date, or the next one where that falls before 2000."""
    day = date.fromisoformat(text)
    monday = day - timedelta(days=day.weekday())
    return (monday if monday.year >= 2000 else monday + timedelta(days=7)).isoformat()


def as_declared(item: dict[str, Any]) -> None:
    """Follow the capacity schema's rules in words: its week a Monday, its maximum (when
    given) at least its actual capacity."""
    week = item.get("week_start")
    if isinstance(week, str):
        with contextlib.suppress(ValueError):  # not a date: left for the schema checks
            item["week_start"] = monday_of(week)
    actual, maximum = item.get("actual_capacity"), item.get("maximum_capacity")
    numbers = (int, float)
    if isinstance(actual, numbers) and isinstance(maximum, numbers) and maximum < actual:
        item["maximum_capacity"] = actual


def as_the_park_within(ahead_s: float, behind_s: float) -> Refine:
    """Make every event of a generated body the token park's own, with an event_time inside
    the window, drawn (by hypothesis) against the clock of the moment the case is made."""
    low, high = -(behind_s - MARGIN_S), max(ahead_s - MARGIN_S, 0.0)
    assert low < high

    def retime(case: schemathesis.Case[Any], draw: random.Random) -> schemathesis.Case[Any]:
        # A copy: generated values can be objects the generator holds on to (examples,
        # defaults), and changing them in place would change the next generation.
        case.body = copy.deepcopy(case.body)
        items = case.body if isinstance(case.body, list) else [case.body]
        for item in items:
            if not isinstance(item, dict):
                continue
            for field in ("source_park", *PARTIES.get(case.path, ())):
                if isinstance(item.get(field), str):
                    item[field] = PARK
            if isinstance(item.get("event_time"), str):
                moment = datetime.now(UTC) + timedelta(seconds=draw.uniform(low, high))
                item["event_time"] = moment.isoformat()
            as_declared(item)
        return case

    def refine(
        cases: st.SearchStrategy[schemathesis.Case[Any]],
    ) -> st.SearchStrategy[schemathesis.Case[Any]]:
        return st.builds(retime, cases, st.randoms(use_true_random=False))

    return refine


def test_generated_requests_pass_every_check(gateway: RunningGateway) -> None:
    doc = httpx.get(f"{gateway.url}/openapi.json", timeout=10).json()
    ahead_s, behind_s = event_time_window(doc)
    assert years_of(doc) == {IN_YEARS_JSON_PATTERN} == {"^20[0-9]{2}-"}  # what in_years() draws
    failures = failures_of(
        gateway.url,
        {"the park": {"Authorization": f"Bearer {gateway.token}"}, "nobody": {}},
        max_examples=40,
        min_operations=3,
        refine=as_the_park_within(ahead_s, behind_s),
        formats=in_years(),
    )
    assert failures == [], "\n\n".join(failures)
