"""CAPACITY_SHORTFALL and CAPACITY_DROP, keyed by `category|week`: all suppliers' open orders
and capacity declarations of one category and ISO week, so a shortfall at one park can name
the parks with spare capacity."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import replace
from fractions import Fraction

from parklink.detector.rules.limits import bound, bounded_impact
from parklink.detector.rules.text import listing, qty
from parklink.detector.state import (
    NO_IMPACT,
    AlertState,
    Declaration,
    OrderView,
    SupplierWeek,
    Week,
    WeekHead,
    WeekMessage,
    WeekWrites,
)
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity, alert_id

_UNIT = 1 << 1074
"""2**1074: every finite float is a whole number of 2**-1074 (the smallest step between
floats), so demand is summed exactly as whole numbers of that step (`exact_units`), at a
fraction of the cost of `Fraction` sums, and the order of updates never moves a comparison
with capacity."""

MAX_DECLARATIONS = 32
"""Declarations kept per park, category and week (the drop rule looks at the latest ones)."""
MAX_EVIDENCE = 50


def subject(park: str, category: str, week: str) -> str:
    return f"{park}|{category}|{week}"


def new_week(bucket: str) -> Week:
    category, week = bucket.split("|", 1)
    return Week(bucket=bucket, head=WeekHead(category=category, week=week))


def order_key(bucket: str, order_id: str) -> str:
    """The table key of an order's entry in a week."""
    return f"{bucket}|{order_id}"


def rebuild(
    heads: Iterable[tuple[str, WeekHead]], orders: Iterable[tuple[str, OrderView]]
) -> dict[str, Week]:
    """The weeks in memory from their stored entries (after a restart or a rebalance)."""
    weeks = {bucket: Week(bucket=bucket, head=head) for bucket, head in heads}
    for key, view in orders:
        bucket = key.removesuffix(f"|{view.order_id}")
        week = weeks.get(bucket)
        if week is None:
            week = weeks[bucket] = new_week(bucket)
        week.orders[view.order_id] = view
        _count(week, view)
    return weeks


def touched(week: Week, message: WeekMessage) -> list[str]:
    """The supplier parks whose alerts the message may change."""
    if message.order is not None:
        view = message.order
        held = week.orders.get(view.order_id)
        if held is not None and held.supplier_park != view.supplier_park:
            return [view.supplier_park, held.supplier_park]
        return [view.supplier_park]
    if message.capacity is not None:
        return [message.capacity.park]
    return []


def is_news(week: Week, message: WeekMessage) -> bool:
    """Whether the message is newer than what the week holds (else it changes nothing)."""
    if message.order is not None:
        held = week.orders.get(message.order.order_id)
        return held is None or message.order.version > held.version
    if message.capacity is not None:
        decls = week.head.declarations.get(message.capacity.park, ())
        return all(d.event_id != message.capacity.declaration.event_id for d in decls)
    return False


def apply_week(week: Week, message: WeekMessage) -> WeekWrites:
    """Apply a message in place; the entries to store. Not newer: nothing changes."""
    if not is_news(week, message):
        return WeekWrites()
    if message.order is not None:
        view = message.order
        held = week.orders.get(view.order_id)
        week.orders[view.order_id] = view
        if (
            held is not None
            and held.supplier_park == view.supplier_park
            and _counts(week, held)
            and _counts(week, view)
        ):
            _recount(week, held, view)
            return WeekWrites(order=view)
        if held is not None:
            _uncount(week, held)
        _count(week, view)
        return WeekWrites(order=view)
    if message.capacity is not None:
        msg = message.capacity
        held_decls = week.head.declarations.get(msg.park, ())
        decls = tuple(sorted((*held_decls, msg.declaration), key=lambda d: d.version))
        week.impacts.pop(msg.park, None)
        week.head = replace(
            week.head,
            declarations={**week.head.declarations, msg.park: decls[-MAX_DECLARATIONS:]},
        )
        return WeekWrites(head=week.head)
    return WeekWrites()


def _counts(week: Week, view: OrderView) -> bool:
    return view.is_open and view.bucket == week.bucket


def exact_units(value: float) -> int:
    """A finite float exactly, as a whole number of 2**-1074."""
    numerator, denominator = value.as_integer_ratio()
    return numerator * (_UNIT // denominator)


def _float(units: int) -> float:
    """The float nearest to `units` 2**-1074 (int division rounds correctly)."""
    return units / _UNIT


def _above(units: int, value: float) -> bool:
    """Whether `units` 2**-1074 is more than `value`, exactly, as `Fraction` compares: a
    ceiling of an infinite factor may be infinite, or NaN (times a capacity of 0)."""
    if math.isnan(value):
        return False
    if math.isinf(value):
        return value < 0
    return units > exact_units(value)


def _count(week: Week, view: OrderView) -> None:
    week.impacts.pop(view.supplier_park, None)
    if _counts(week, view):
        supplier = week.suppliers.setdefault(view.supplier_park, SupplierWeek())
        supplier.open[view.order_id] = view
        supplier.demand += exact_units(view.quantity)
        _tally(supplier.buyers, view.buyer_park, 1)
        if supplier.ids is not None:
            bisect.insort(supplier.ids, view.order_id)


def _tally(counts: dict[str, int], key: str, step: int) -> None:
    """Add `step` to the count of `key` (a new key for a positive step only); a count that
    reaches 0 leaves."""
    left = (counts[key] if step < 0 else counts.get(key, 0)) + step
    if left:
        counts[key] = left
    else:
        del counts[key]


def _recount(week: Week, held: OrderView, view: OrderView) -> None:
    """An open order of a supplier that stays open in this week (an amendment): its view,
    quantity and buyer change, its place among the supplier's ids does not."""
    week.impacts.pop(view.supplier_park, None)
    supplier = week.suppliers[view.supplier_park]
    supplier.open[view.order_id] = view
    supplier.demand += exact_units(view.quantity) - exact_units(held.quantity)
    if held.buyer_park != view.buyer_park:
        _tally(supplier.buyers, held.buyer_park, -1)
        _tally(supplier.buyers, view.buyer_park, 1)


def _uncount(week: Week, view: OrderView) -> None:
    week.impacts.pop(view.supplier_park, None)
    if _counts(week, view):
        supplier = week.suppliers[view.supplier_park]
        del supplier.open[view.order_id]
        supplier.demand -= exact_units(view.quantity)
        if not supplier.open:
            del week.suppliers[view.supplier_park]
            return
        _tally(supplier.buyers, view.buyer_park, -1)
        if supplier.ids is not None:
            del supplier.ids[bisect.bisect_left(supplier.ids, view.order_id)]


def _demand(week: Week, park: str) -> int:
    """The park's open demand in the week, in 2**-1074."""
    supplier = week.suppliers.get(park)
    return supplier.demand if supplier is not None else 0


def demand(week: Week, park: str) -> Fraction:
    """The park's open demand in the week, exactly."""
    return Fraction(_demand(week, park), _UNIT)


def open_orders(week: Week, park: str) -> list[OrderView]:
    """The park's orders counted in this week (latest status open, due in this week), by
    id."""
    return first_open(week, park, None)[0]


def first_open(week: Week, park: str, limit: int | None) -> tuple[list[OrderView], int]:
    """The first `limit` (None: all) of the park's open orders in this week by id, and how
    many are left out. The ids are sorted once and then kept in order by every update
    (`SupplierWeek.ids`), so a firing alert of a supplier with many open orders costs
    about the same per update as one with few."""
    supplier = week.suppliers.get(park)
    if supplier is None:
        return [], 0
    ids = supplier.ids
    if ids is None:
        ids = supplier.ids = sorted(supplier.open)
    kept = ids if limit is None else ids[:limit]
    return [supplier.open[i] for i in kept], len(ids) - len(kept)


def spare_capacity(week: Week, park: str) -> dict[str, float]:
    """Other parks' spare capacity in this category and week: their maximum (their actual
    capacity when they declared no maximum) minus their own open demand, where positive."""
    spare: dict[str, float] = {}
    for other, decls in week.head.declarations.items():
        if other == park or not decls:
            continue
        latest = decls[-1]
        ceiling = latest.maximum if latest.maximum is not None else latest.actual
        free = _float(exact_units(ceiling) - _demand(week, other))
        if free > 0:
            spare[other] = free
    return dict(sorted(spare.items(), key=lambda kv: (-kv[1], kv[0])))


def shortfall_alert(week: Week, park: str, limits: Thresholds, now: int) -> AlertState:
    head = week.head
    decls = head.declarations.get(park, ())
    where = f"{park} for category {head.category} in the week of {head.week}"
    base = AlertState(
        type=AlertType.CAPACITY_SHORTFALL.value,
        subject=subject(park, head.category, head.week),
        severity=None,
        summary=f"No capacity is declared {where}.",
        at=now,
    )
    if not decls:
        return base
    latest = decls[-1]
    unit = f" {latest.unit}"
    exact = _demand(week, park)
    total = _float(exact)
    supplier = week.suppliers.get(park)
    metrics = {
        "demand": total,
        "capacity": latest.actual,
        "open_orders": float(len(supplier.open) if supplier is not None else 0),
    }
    if latest.maximum is not None:
        metrics["maximum"] = latest.maximum
    if latest.actual > 0:
        metrics["ratio"] = round(total / latest.actual, 4)
    severity = shortfall_severity(week, park, limits)
    if severity is None:
        return replace(
            base,
            summary=f"Open demand {qty(total)}{unit} fits the actual capacity "
            f"{qty(latest.actual)}{unit} {where}.",
            metrics=metrics,
        )
    metrics["shortfall"] = _float(exact - exact_units(latest.actual))
    orders, unlisted = first_open(week, park, max(limits.alert_list_limit, MAX_EVIDENCE))
    spare = spare_capacity(week, park)
    for other, free in list(spare.items())[: limits.alert_list_limit]:
        metrics[f"spare|{other}"] = free
    maximum = "" if latest.maximum is None else f" (maximum {qty(latest.maximum)})"
    summary = (
        f"{park} is short of capacity for category {head.category} in the week of "
        f"{head.week}: open demand {qty(total)}{unit} exceeds the actual capacity "
        f"{qty(latest.actual)}{unit}{maximum}"
    )
    if spare:
        offers = [f"{other} ({qty(free)}{unit})" for other, free in spare.items()]
        if len(offers) > limits.alert_list_limit:
            more = len(offers) - limits.alert_list_limit
            offers = [*offers[: limits.alert_list_limit], f"{more} more park(s)"]
        summary += f"; spare capacity at {listing(offers)}."
    else:
        summary += "; no other park declared spare capacity."
    evidence = (latest.event_id, *(o.event_id for o in orders))[:MAX_EVIDENCE]
    alert = replace(
        base,
        severity=severity,
        summary=summary,
        parks=_parks(week, park),
        impacted_orders=tuple(o.order_id for o in orders),
        evidence=evidence,
        metrics=metrics,
    )
    return bound(alert, limits.alert_list_limit, (0, unlisted, 0))


def _parks(week: Week, park: str) -> tuple[str, ...]:
    """The supplier and the buyers of its open orders."""
    supplier = week.suppliers.get(park)
    return tuple(sorted({park, *(supplier.buyers if supplier is not None else ())}))


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


def drop_alert(week: Week, park: str, limits: Thresholds, now: int) -> AlertState:
    head = week.head
    decls = head.declarations.get(park, ())
    where = f"category {head.category} in the week of {head.week}"
    base = AlertState(
        type=AlertType.CAPACITY_DROP.value,
        subject=subject(park, head.category, head.week),
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
    severity = _drop_severity(ratio, limits)
    orders, unlisted = first_open(week, park, limits.alert_list_limit)
    alert = replace(
        base,
        severity=severity,
        summary=f"{park} cut its capacity for {where} from {qty(reference.actual)} to "
        f"{qty(latest.actual)} {latest.unit} ({ratio:.0%} of before).",
        parks=_parks(week, park),
        impacted_orders=tuple(o.order_id for o in orders),
        evidence=(reference.event_id, latest.event_id),
        metrics={
            "capacity": latest.actual,
            "previous_capacity": reference.actual,
            "ratio": round(ratio, 4),
        },
    )
    return bound(alert, limits.alert_list_limit, (0, unlisted, 0))


def shortfall_severity(week: Week, park: str, limits: Thresholds) -> Severity | None:
    decls = week.head.declarations.get(park, ())
    if not decls:
        return None
    latest = decls[-1]
    exact = _demand(week, park)
    if not _above(exact, latest.actual):
        return None
    ceiling = (
        latest.maximum
        if latest.maximum is not None
        else limits.shortfall_no_maximum_factor * latest.actual
    )
    return Severity.CRITICAL if _above(exact, ceiling) else Severity.WARNING


def _drop_severity(ratio: float, limits: Thresholds) -> Severity:
    return Severity.CRITICAL if ratio < limits.drop_critical_ratio else Severity.WARNING


def drop_severity(week: Week, park: str, limits: Thresholds) -> Severity | None:
    decls = week.head.declarations.get(park, ())
    if not decls:
        return None
    reference = drop_reference(decls, limits)
    if reference is None:
        return None
    return _drop_severity(decls[-1].actual / reference.actual, limits)


def week_impacts(week: Week, parks: list[str], limits: Thresholds) -> dict[str, tuple[object, ...]]:
    """`{a.alert_id: a.impact() for a in week_alerts(...)}` without wording the alerts (this
    runs before and after every order and capacity update): each park's as the week
    remembers them (`Week.impacts`), worked out where it does not."""
    out: dict[str, tuple[object, ...]] = {}
    remembered = week.impacts
    for park in dict.fromkeys(parks):
        known = remembered.get(park)
        if known is None:
            known = remembered[park] = _park_impacts(week, park, limits)
        out.update(known)
    return out


def _park_impacts(week: Week, park: str, limits: Thresholds) -> dict[str, tuple[object, ...]]:
    head = week.head
    out: dict[str, tuple[object, ...]] = {}
    about = subject(park, head.category, head.week)
    for kind, severity in (
        (AlertType.CAPACITY_SHORTFALL, shortfall_severity(week, park, limits)),
        (AlertType.CAPACITY_DROP, drop_severity(week, park, limits)),
    ):
        impact = NO_IMPACT
        if severity is not None:
            orders, unlisted = first_open(week, park, limits.alert_list_limit)
            impact = bounded_impact(
                severity,
                _parks(week, park),
                [o.order_id for o in orders],
                (),
                limits.alert_list_limit,
                (0, unlisted, 0),
            )
        out[alert_id(kind.value, about)] = impact
    return out


def week_alerts(week: Week, parks: list[str], limits: Thresholds, now: int) -> list[AlertState]:
    alerts: list[AlertState] = []
    for park in dict.fromkeys(parks):
        alerts.append(shortfall_alert(week, park, limits, now))
        alerts.append(drop_alert(week, park, limits, now))
    return alerts
