"""CAPACITY_SHORTFALL and CAPACITY_DROP, keyed by `category|week`: all suppliers' open orders
and capacity declarations of one category and ISO week, so a shortfall at one park can name
the parks with spare capacity."""

from __future__ import annotations

from dataclasses import replace

from parklink.detector.rules.text import listing, qty
from parklink.detector.state import (
    AlertState,
    Declaration,
    DeclarationMessage,
    OrderView,
    WeekMessage,
    WeekState,
)
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity

MAX_DECLARATIONS = 32
"""Declarations kept per park, category and week (the drop rule looks at the latest ones)."""
MAX_EVIDENCE = 50


def subject(park: str, category: str, week: str) -> str:
    return f"{park}|{category}|{week}"


def apply_week(
    state: WeekState | None, bucket: str, message: WeekMessage
) -> tuple[WeekState, list[str]]:
    """The new state and the supplier parks whose alerts may have changed. A message that is
    not newer than what is held still names its park, so its alerts are passed on again."""
    if state is None:
        category, week = bucket.split("|", 1)
        state = WeekState(category=category, week=week)
    if message.order is not None:
        return _apply_order(state, message.order)
    if message.capacity is not None:
        return _apply_declaration(state, message.capacity)
    return state, []


def _apply_order(state: WeekState, view: OrderView) -> tuple[WeekState, list[str]]:
    held = state.orders.get(view.order_id)
    parks = [view.supplier_park]
    if held is not None:
        if held.supplier_park != view.supplier_park:
            parks.append(held.supplier_park)
        if view.version <= held.version:
            return state, [held.supplier_park]
    return replace(state, orders={**state.orders, view.order_id: view}), parks


def _apply_declaration(state: WeekState, msg: DeclarationMessage) -> tuple[WeekState, list[str]]:
    held = state.declarations.get(msg.park, ())
    new = msg.declaration
    if any(d.event_id == new.event_id for d in held):
        return state, [msg.park]
    decls = tuple(sorted((*held, new), key=lambda d: d.version))[-MAX_DECLARATIONS:]
    return replace(state, declarations={**state.declarations, msg.park: decls}), [msg.park]


def open_orders(state: WeekState, park: str) -> list[OrderView]:
    """The park's orders counted in this week: latest status open, due in this week."""
    bucket = f"{state.category}|{state.week}"
    return sorted(
        (
            o
            for o in state.orders.values()
            if o.supplier_park == park and o.is_open and o.bucket == bucket
        ),
        key=lambda o: o.order_id,
    )


def spare_capacity(state: WeekState, park: str) -> dict[str, float]:
    """Other parks' spare capacity in this category and week: their maximum (their actual
    capacity when they declared no maximum) minus their own open demand, where positive."""
    spare: dict[str, float] = {}
    for other, decls in state.declarations.items():
        if other == park or not decls:
            continue
        latest = decls[-1]
        ceiling = latest.maximum if latest.maximum is not None else latest.actual
        free = ceiling - sum(o.quantity for o in open_orders(state, other))
        if free > 0:
            spare[other] = free
    return dict(sorted(spare.items(), key=lambda kv: (-kv[1], kv[0])))


def shortfall_alert(state: WeekState, park: str, limits: Thresholds, now: int) -> AlertState:
    orders = open_orders(state, park)
    demand = sum(o.quantity for o in orders)
    decls = state.declarations.get(park, ())
    where = f"{park} for category {state.category} in the week of {state.week}"
    base = AlertState(
        type=AlertType.CAPACITY_SHORTFALL.value,
        subject=subject(park, state.category, state.week),
        severity=None,
        summary=f"No capacity is declared {where}.",
        at=now,
    )
    if not decls:
        return base
    latest = decls[-1]
    unit = f" {latest.unit}"
    metrics = {"demand": demand, "capacity": latest.actual, "open_orders": float(len(orders))}
    if latest.maximum is not None:
        metrics["maximum"] = latest.maximum
    if latest.actual > 0:
        metrics["ratio"] = round(demand / latest.actual, 4)
    if demand <= latest.actual:
        return replace(
            base,
            summary=f"Open demand {qty(demand)}{unit} fits the actual capacity "
            f"{qty(latest.actual)}{unit} {where}.",
            metrics=metrics,
        )
    ceiling = (
        latest.maximum
        if latest.maximum is not None
        else limits.shortfall_no_maximum_factor * latest.actual
    )
    severity = Severity.CRITICAL if demand > ceiling else Severity.WARNING
    metrics["shortfall"] = demand - latest.actual
    spare = spare_capacity(state, park)
    for other, free in spare.items():
        metrics[f"spare|{other}"] = free
    maximum = "" if latest.maximum is None else f" (maximum {qty(latest.maximum)})"
    summary = (
        f"{park} is short of capacity for category {state.category} in the week of "
        f"{state.week}: open demand {qty(demand)}{unit} exceeds the actual capacity "
        f"{qty(latest.actual)}{unit}{maximum}"
    )
    if spare:
        offers = [f"{other} ({qty(free)}{unit})" for other, free in spare.items()]
        summary += f"; spare capacity at {listing(offers)}."
    else:
        summary += "; no other park declared spare capacity."
    evidence = (latest.event_id, *(o.event_id for o in orders))[:MAX_EVIDENCE]
    return replace(
        base,
        severity=severity,
        summary=summary,
        parks=tuple(sorted({park, *(o.buyer_park for o in orders)})),
        impacted_orders=tuple(o.order_id for o in orders),
        evidence=evidence,
        metrics=metrics,
    )


def drop_reference(decls: tuple[Declaration, ...], limits: Thresholds) -> Declaration | None:
    """The declaration before a drop that has not recovered yet, if any, reading the
    declarations in event-time order."""
    reference: Declaration | None = None
    previous: Declaration | None = None
    for decl in decls:
        if previous is not None:
            if reference is None:
                if decl.actual < limits.drop_warning_ratio * previous.actual:
                    reference = previous
            elif decl.actual >= limits.drop_warning_ratio * reference.actual:
                reference = None
        previous = decl
    return reference


def drop_alert(state: WeekState, park: str, limits: Thresholds, now: int) -> AlertState:
    decls = state.declarations.get(park, ())
    where = f"category {state.category} in the week of {state.week}"
    base = AlertState(
        type=AlertType.CAPACITY_DROP.value,
        subject=subject(park, state.category, state.week),
        severity=None,
        summary=f"{park} has no capacity drop for {where}.",
        at=now,
    )
    if not decls:
        return base
    latest = decls[-1]
    reference = drop_reference(decls, limits)
    if reference is None:
        return replace(
            base,
            summary=f"{park} declares {qty(latest.actual)} {latest.unit} for {where}, no drop.",
            metrics={"capacity": latest.actual},
        )
    ratio = latest.actual / reference.actual
    severity = Severity.CRITICAL if ratio < limits.drop_critical_ratio else Severity.WARNING
    orders = open_orders(state, park)
    return replace(
        base,
        severity=severity,
        summary=f"{park} cut its capacity for {where} from {qty(reference.actual)} to "
        f"{qty(latest.actual)} {latest.unit} ({ratio:.0%} of before).",
        parks=tuple(sorted({park, *(o.buyer_park for o in orders)})),
        impacted_orders=tuple(o.order_id for o in orders),
        evidence=(reference.event_id, latest.event_id),
        metrics={
            "capacity": latest.actual,
            "previous_capacity": reference.actual,
            "ratio": round(ratio, 4),
        },
    )


def week_alerts(
    state: WeekState, parks: list[str], limits: Thresholds, now: int
) -> list[AlertState]:
    alerts: list[AlertState] = []
    for park in dict.fromkeys(parks):
        alerts.append(shortfall_alert(state, park, limits, now))
        alerts.append(drop_alert(state, park, limits, now))
    return alerts
