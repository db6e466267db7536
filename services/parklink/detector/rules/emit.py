"""From what an alert should look like to the DisruptionAlert transitions on the alerts
topic: one when it starts, when its severity or impact changes, and when it resolves; none
for an unchanged state, so any stage may repeat itself safely."""

from __future__ import annotations

from parklink.detector.events import moment
from parklink.detector.state import AlertState, Impact, impact_of
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert


def impact(alert: DisruptionAlert) -> Impact:
    """The impact of a firing alert as emitted (`AlertState.impact` of what it came from)."""
    return impact_of(
        alert.severity,
        tuple(alert.parks),
        tuple(alert.impacted_orders),
        tuple(alert.impacted_shipments),
        alert.metrics,
    )


def transition(prev: DisruptionAlert | None, desired: AlertState) -> DisruptionAlert | None:
    """The alert record to emit, or None when nothing an operator cares about changed.

    `desired.at` is the stage's stamp, strictly increasing for each alert (stages.stamp).
    A conclusion not newer than the alert's last update is one this stage has already
    applied: after a crash the alert stage replays its input from the last committed offset
    while its state (the alerts topic) already holds what it emitted."""
    at = moment(desired.at)
    if prev is not None and at <= prev.updated_at:
        return None
    if desired.severity is None:
        if prev is None or prev.status is not AlertStatus.FIRING:
            return None
        return prev.model_copy(
            update={
                "status": AlertStatus.RESOLVED,
                "summary": desired.summary,
                "metrics": dict(desired.metrics),
                "evidence": list(desired.evidence) or prev.evidence,
                "updated_at": max(at, prev.updated_at),
                "resolved_at": max(at, prev.updated_at),
            }
        )
    if prev is not None and prev.status is AlertStatus.FIRING:
        if impact(prev) == desired.impact():
            return None
        started = prev.started_at
        updated = max(at, prev.updated_at)
    else:
        started = updated = at
    return DisruptionAlert(
        alert_id=desired.alert_id,
        type=desired.type,
        severity=desired.severity,
        status=AlertStatus.FIRING,
        subject=desired.subject,
        parks=list(desired.parks),
        impacted_orders=list(desired.impacted_orders),
        impacted_shipments=list(desired.impacted_shipments),
        summary=desired.summary,
        evidence=list(desired.evidence),
        metrics=dict(desired.metrics),
        started_at=started,
        updated_at=updated,
        corridor=desired.corridor,
    )
