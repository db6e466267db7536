"""CORRIDOR_CONGESTION, keyed by corridor id: how many of the corridor's shipments have a
firing SHIPMENT_DELAY at once."""

from __future__ import annotations

from dataclasses import replace

from parklink.detector.rules.text import listing
from parklink.detector.state import AlertState, CorridorState, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity

MAX_CALM_SHIPMENTS = 2000
"""Shipments without a delay are kept (to reject late older views) up to this many."""


def apply_view(state: CorridorState | None, corridor: str, view: ShipmentView) -> CorridorState:
    if state is None:
        state = CorridorState(corridor=corridor)
    held = state.shipments.get(view.shipment_id)
    if held is not None and view.version <= held.version:
        return state
    shipments = {**state.shipments, view.shipment_id: view}
    calm = [s for s in shipments.values() if not (s.delayed and s.corridor == corridor)]
    if len(calm) > MAX_CALM_SHIPMENTS:
        calm.sort(key=lambda s: s.version)
        for old in calm[: len(calm) - MAX_CALM_SHIPMENTS]:
            del shipments[old.shipment_id]
    return replace(state, shipments=shipments)


def congestion_alert(state: CorridorState, limits: Thresholds, now: int) -> AlertState:
    delayed = sorted(
        (s for s in state.shipments.values() if s.delayed and s.corridor == state.corridor),
        key=lambda s: s.shipment_id,
    )
    count = len(delayed)
    severity: Severity | None = None
    if count >= limits.congestion_critical_shipments:
        severity = Severity.CRITICAL
    elif count >= limits.congestion_warning_shipments:
        severity = Severity.WARNING
    ids = [s.shipment_id for s in delayed]
    if severity is None:
        summary = (
            f"Corridor {state.corridor} has {count} delayed shipment(s), fewer than "
            f"{limits.congestion_warning_shipments}."
        )
    else:
        summary = (
            f"Corridor {state.corridor} is congested: {count} shipments are delayed at once "
            f"({listing(ids)})."
        )
    return AlertState(
        type=AlertType.CORRIDOR_CONGESTION.value,
        subject=state.corridor,
        severity=severity,
        summary=summary,
        parks=tuple(sorted({p for s in delayed for p in s.parks})),
        impacted_orders=tuple(sorted({o for s in delayed for o in s.order_ids})),
        impacted_shipments=tuple(ids),
        evidence=tuple(s.event_id for s in delayed),
        metrics={"delayed_shipments": float(count)},
        corridor=state.corridor,
        at=now,
    )
