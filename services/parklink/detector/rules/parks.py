"""PARK_SILENT, keyed by park id: a park that has published before and has been silent for
too long by the wall clock. "Published" is the Kafka timestamp of the park's records, so a
detector restart does not make every park look silent."""

from __future__ import annotations

from dataclasses import replace

from parklink.detector.rules.text import duration, when
from parklink.detector.state import AlertState, ParkActivity
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity


def seen(
    state: ParkActivity | None, park: str, published: int, event_id: str, partition: int
) -> ParkActivity:
    if state is None:
        return ParkActivity(park, published, event_id, partition)
    if published <= state.last_published:
        return replace(state, partition=partition)
    return replace(state, last_published=published, last_event_id=event_id, partition=partition)


def silent_alert(state: ParkActivity, limits: Thresholds, now: int) -> AlertState:
    quiet = max(0.0, (now - state.last_published) / 1000)
    severity: Severity | None = None
    if quiet >= limits.silent_critical_seconds:
        severity = Severity.CRITICAL
    elif quiet >= limits.silent_warning_seconds:
        severity = Severity.WARNING
    if severity is None:
        summary = f"{state.park} published at {when(state.last_published)}."
    else:
        summary = (
            f"{state.park} has published nothing for {duration(quiet)} (last at "
            f"{when(state.last_published)}): its orders, shipments and capacity are going stale "
            "for every park."
        )
    return AlertState(
        type=AlertType.PARK_SILENT.value,
        subject=state.park,
        severity=severity,
        summary=summary,
        parks=(state.park,),
        evidence=(state.last_event_id,),
        metrics={"silent_hours": round(quiet / 3600, 4)},
        at=now,
    )
