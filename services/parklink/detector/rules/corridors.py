"""CORRIDOR_CONGESTION, keyed by corridor id: how many of the corridor's shipments have a
firing SHIPMENT_DELAY at once.

A corridor keeps the views of its delayed shipments in full (their orders up to
`alert_list_limit`, their SHIPMENT_DELAY; see `stored`) and of the others only what rejects
a late older view (`slim`), at most MAX_CALM_SHIPMENTS of them: its table value stays small
whatever the parks send (docs/bounds.md)."""

from __future__ import annotations

from dataclasses import replace

from parklink.detector.rules.limits import bound, first
from parklink.detector.rules.text import listing
from parklink.detector.state import AlertState, CorridorState, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity

MAX_CALM_SHIPMENTS = 1000
"""Shipments without a delay are kept (to reject late older views) up to this many."""


def counted(view: ShipmentView, corridor: str) -> bool:
    """Whether the view counts towards the corridor's congestion."""
    return view.delayed and view.corridor == corridor


def slim(view: ShipmentView) -> ShipmentView:
    """What a corridor keeps of a shipment it does not count: its version and route, no
    orders and no delay alert (the resolution was passed on when the view came in)."""
    if not view.order_ids and view.delay is None:
        return view
    return replace(view, order_ids=(), delay=None, order_count=0)


def stored(view: ShipmentView, corridor: str) -> ShipmentView:
    """What the corridor keeps of a view: a counted one with its delay alert, whose orders
    are the view's own (kept once), any other one slim."""
    if not counted(view, corridor):
        return slim(view)
    delay = view.delay
    if delay is None or not delay.impacted_orders:
        return view
    return replace(view, delay=replace(delay, impacted_orders=()))


def delay_of(view: ShipmentView) -> AlertState | None:
    """The view's SHIPMENT_DELAY as concluded (its orders restored where `stored` left them
    out)."""
    delay = view.delay
    if delay is None or delay.impacted_orders or not view.order_ids:
        return delay
    return replace(delay, impacted_orders=view.order_ids)


def apply_view(state: CorridorState | None, corridor: str, view: ShipmentView) -> CorridorState:
    if state is None:
        state = CorridorState(corridor=corridor)
    held = state.shipments.get(view.shipment_id)
    if held is not None and view.version <= held.version:
        return state
    shipments = {**state.shipments, view.shipment_id: stored(view, corridor)}
    calm = [s for s in shipments.values() if not counted(s, corridor)]
    if len(calm) > MAX_CALM_SHIPMENTS:
        calm.sort(key=lambda s: s.version)
        for old in calm[: len(calm) - MAX_CALM_SHIPMENTS]:
            del shipments[old.shipment_id]
    return replace(state, shipments=shipments)


def congestion_alert(state: CorridorState, limits: Thresholds, now: int) -> AlertState:
    delayed = sorted(
        (s for s in state.shipments.values() if counted(s, state.corridor)),
        key=lambda s: s.shipment_id,
    )
    count = len(delayed)
    limit = limits.congestion_warning_shipments
    severity: Severity | None = None
    if count >= limits.congestion_critical_shipments:
        severity = Severity.CRITICAL
    elif count >= limit:
        severity = Severity.WARNING
    ids = [s.shipment_id for s in delayed]
    if severity is None:
        summary = f"Corridor {state.corridor} has {count} delayed shipment(s), fewer than {limit}."
    else:
        listed, _ = first(ids, limits.alert_list_limit)
        summary = (
            f"Corridor {state.corridor} is congested: {count} shipments are delayed at once "
            f"({listing(list(listed))})."
        )
    # Each view lists its first orders only; the first of all of them are among those.
    orders = sorted({o for s in delayed for o in s.order_ids})
    unlisted = sum(s.orders - len(s.order_ids) for s in delayed)
    alert = AlertState(
        type=AlertType.CORRIDOR_CONGESTION.value,
        subject=state.corridor,
        severity=severity,
        summary=summary,
        parks=tuple(sorted({p for s in delayed for p in s.parks})),
        impacted_orders=tuple(orders),
        impacted_shipments=tuple(ids),
        evidence=tuple(s.event_id for s in delayed),
        metrics={"delayed_shipments": float(count)},
        corridor=state.corridor,
        at=now,
    )
    return bound(alert, limits.alert_list_limit, (0, unlisted, 0))
