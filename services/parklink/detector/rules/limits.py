"""How big an alert may get: each list an alert carries (parks, impacted orders, impacted
shipments, evidence) holds at most `Thresholds.alert_list_limit` items, the first ones in the
list's order (by id); what is left out is counted in the metrics `parks_not_listed`,
`orders_not_listed` and `shipments_not_listed` and named at the end of the summary. So an
alert, and every message and table value that carries one, stays within a size bound
whatever the parks send (docs/bounds.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from parklink.detector.rules.text import listing
from parklink.detector.state import NO_IMPACT, NOT_LISTED, AlertState, Impact

NOUNS = ("park", "order", "shipment")
Counts = tuple[int, int, int]
NONE_LEFT: Counts = (0, 0, 0)


def first(items: Sequence[str], limit: int) -> tuple[tuple[str, ...], int]:
    """The first `limit` items and how many are left out."""
    kept = tuple(items[:limit])
    return kept, len(items) - len(kept)


def left_out(counts: Counts) -> str:
    """The summary's tail naming what is left out, e.g. " Not listed: 3 more parks." (empty
    when nothing is)."""
    parts = [
        f"{n} more {noun}{'' if n == 1 else 's'}"
        for n, noun in zip(counts, NOUNS, strict=True)
        if n
    ]
    if not parts:
        return ""
    return f" Not listed: {listing(parts)}."


def bound(alert: AlertState, limit: int, extra: Counts = NONE_LEFT) -> AlertState:
    """`alert` with its lists cut to `limit` items; `extra` counts (parks, orders, shipments)
    that were left out before the lists reached the alert."""
    parks, p = first(alert.parks, limit)
    orders, o = first(alert.impacted_orders, limit)
    shipments, s = first(alert.impacted_shipments, limit)
    counts = (p + extra[0], o + extra[1], s + extra[2])
    if counts == NONE_LEFT and len(alert.evidence) <= limit:
        return alert
    metrics = dict(alert.metrics)
    for name, n in zip(NOT_LISTED, counts, strict=True):
        if n:
            metrics[name] = float(n)
    return replace(
        alert,
        parks=parks,
        impacted_orders=orders,
        impacted_shipments=shipments,
        evidence=alert.evidence[:limit],
        metrics=metrics,
        summary=alert.summary + left_out(counts),
    )


def bounded_impact(
    severity: object,
    parks: Sequence[str],
    orders: Sequence[str],
    shipments: Sequence[str],
    limit: int,
    extra: Counts = NONE_LEFT,
) -> Impact:
    """`bound(alert, limit, extra).impact()` without building the alert."""
    if severity is None:
        return NO_IMPACT
    kept_parks, p = first(parks, limit)
    kept_orders, o = first(orders, limit)
    kept_shipments, s = first(shipments, limit)
    return (
        severity,
        kept_parks,
        kept_orders,
        kept_shipments,
        float(p + extra[0]),
        float(o + extra[1]),
        float(s + extra[2]),
    )
