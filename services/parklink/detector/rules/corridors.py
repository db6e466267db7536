"""CORRIDOR_CONGESTION, keyed by corridor id: how many of the corridor's shipments have a
firing SHIPMENT_DELAY at once.

A corridor keeps the views of its delayed shipments in full (their orders up to
`alert_list_limit`, their SHIPMENT_DELAY; see `stored`) and of the others only what rejects
a late older view (`slim`), at most MAX_CALM_SHIPMENTS of them: its table entries stay small
whatever the parks send (docs/bounds.md). Each shipment of a corridor is one table entry
(`corridor|shipment_id`), so a view changes one entry, not the whole corridor."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from parklink.detector.rules.limits import bound, first
from parklink.detector.rules.text import listing
from parklink.detector.state import (
    NO_IMPACT,
    AlertState,
    CorridorHead,
    CorridorState,
    CorridorWrite,
    Impact,
    ShipmentView,
)
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


def corridor_key(corridor: str, shipment_id: str) -> str:
    """The table key of a shipment's entry in a corridor."""
    return f"{corridor}|{shipment_id}"


def remember(state: CorridorState, view: ShipmentView) -> None:
    """Put a stored view into the corridor (in place), keeping `counted` in step."""
    sid = view.shipment_id
    state.shipments[sid] = view
    state.congestion = None
    if counted(view, state.corridor):
        state.counted[sid] = view
    else:
        state.counted.pop(sid, None)


def forget(state: CorridorState, shipment_id: str) -> None:
    state.congestion = None
    state.shipments.pop(shipment_id, None)
    state.counted.pop(shipment_id, None)


def rebuild(
    heads: Iterable[tuple[str, CorridorHead]], entries: Iterable[tuple[str, ShipmentView]]
) -> dict[str, CorridorState]:
    """The corridors in memory from their table entries (after a start or a rebalance)."""
    book: dict[str, CorridorState] = {}
    for corridor, head in heads:
        book[corridor] = CorridorState(corridor=corridor, clock=head.clock)
    for key, view in sorted(entries, key=lambda entry: entry[1].version):
        corridor = key.removesuffix(f"|{view.shipment_id}")
        state = book.get(corridor)
        if state is None:
            state = book[corridor] = CorridorState(corridor=corridor)
        remember(state, view)
    return book


def apply_view(state: CorridorState, view: ShipmentView) -> list[CorridorWrite]:
    """Take a view that is newer than the one held into the corridor, in place: the entries
    that changed (the view as stored; None for the oldest calm shipments let go beyond
    MAX_CALM_SHIPMENTS). Empty when the view is not news."""
    held = state.shipments.get(view.shipment_id)
    if held is not None and view.version <= held.version:
        return []
    kept = stored(view, state.corridor)
    remember(state, kept)
    writes: list[CorridorWrite] = [(kept.shipment_id, kept)]
    calm = len(state.shipments) - len(state.counted)
    if calm > MAX_CALM_SHIPMENTS:
        corridor = state.corridor
        oldest = sorted(
            (s for s in state.shipments.values() if not counted(s, corridor)),
            key=lambda s: s.version,
        )
        for old in oldest[: calm - MAX_CALM_SHIPMENTS]:
            forget(state, old.shipment_id)
            writes.append((old.shipment_id, None))
    return writes


def congestion_severity(count: int, limits: Thresholds) -> Severity | None:
    """The severity of `count` shipments delayed at once on a corridor."""
    if count >= limits.congestion_critical_shipments:
        return Severity.CRITICAL
    if count >= limits.congestion_warning_shipments:
        return Severity.WARNING
    return None


def congestion(
    state: CorridorState, limits: Thresholds, now: int
) -> tuple[Impact, AlertState | None]:
    """The corridor's congestion impact, and its alert when it is firing. A corridor below
    the warning count is judged without looking at a shipment: its (calm) alert is worded
    by `congestion_alert` only when it is to be sent."""
    if congestion_severity(len(state.counted), limits) is None:
        return NO_IMPACT, None
    alert = congestion_alert(state, limits, now)
    return alert.impact(), alert


def congestion_impact(state: CorridorState, limits: Thresholds) -> Impact:
    """`congestion_alert(...).impact()`, without wording a calm corridor's alert."""
    return congestion(state, limits, 0)[0]


def remembered_congestion(state: CorridorState, limits: Thresholds) -> Impact:
    """The congestion impact the corridor remembers (`CorridorState.congestion`), worked out
    and remembered where it does not."""
    if state.congestion is None:
        state.congestion = congestion_impact(state, limits)
    return state.congestion


def congestion_alert(state: CorridorState, limits: Thresholds, now: int) -> AlertState:
    delayed = sorted(state.counted.values(), key=lambda s: s.shipment_id)
    count = len(delayed)
    limit = limits.congestion_warning_shipments
    severity = congestion_severity(count, limits)
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
