"""SHIPMENT_DELAY, keyed by shipment id: the latest estimated arrival against the planned
arrival; and the shipment's view for its corridor (CORRIDOR_CONGESTION)."""

from __future__ import annotations

from dataclasses import replace

from parklink.detector.rules.text import duration, when
from parklink.detector.state import AlertState, ShipmentEntity, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity, ShipmentEvent

HOUR_MS = 3_600_000


def apply_shipment(
    entity: ShipmentEntity | None, event: ShipmentEvent
) -> tuple[ShipmentEntity, bool]:
    """The shipment's new state and whether the event told anything new.

    The status, route and plan come from the latest event by event_time; the ETA from the
    latest event that carries one."""
    new = ShipmentEntity.of(event)
    if entity is None:
        return new, True
    merged = entity
    if new.version > entity.version:
        corridors = entity.corridors
        if new.corridor not in corridors:
            corridors = (*corridors, new.corridor)
        merged = replace(
            new,
            eta=entity.eta,
            eta_time=entity.eta_time,
            eta_event_id=entity.eta_event_id,
            corridors=corridors,
        )
    if new.eta is not None and new.eta_version > entity.eta_version:
        merged = replace(merged, eta=new.eta, eta_time=new.eta_time, eta_event_id=new.eta_event_id)
    return merged, merged != entity


def delay_severity(ship: ShipmentEntity, limits: Thresholds) -> Severity | None:
    if ship.finished or ship.eta is None:
        return None
    late = (ship.eta - ship.planned_arrival) / HOUR_MS
    if late > limits.delay_critical_hours:
        return Severity.CRITICAL
    if late > limits.delay_warning_hours:
        return Severity.WARNING
    return None


def _parks(ship: ShipmentEntity) -> tuple[str, ...]:
    return tuple(sorted({ship.origin_park, ship.destination_park}))


def delay_impact(ship: ShipmentEntity, limits: Thresholds) -> tuple[object, ...]:
    """`delay_alert(ship, ...).impact()` without wording the alert."""
    return (
        delay_severity(ship, limits),
        _parks(ship),
        tuple(sorted(ship.order_ids)),
        (ship.shipment_id,),
    )


def delay_alert(ship: ShipmentEntity, limits: Thresholds, now: int) -> AlertState:
    route = f"{ship.origin_park} → {ship.destination_park} on {ship.corridor}"
    eta = ship.eta
    delay_ms = None if eta is None else eta - ship.planned_arrival
    metrics: dict[str, float] = {}
    if delay_ms is not None:
        metrics["delay_hours"] = round(delay_ms / HOUR_MS, 3)
    severity = delay_severity(ship, limits)
    if ship.finished:
        summary = f"Shipment {ship.shipment_id} ({route}) is {ship.status.lower()}."
    elif eta is None or delay_ms is None:
        summary = f"Shipment {ship.shipment_id} ({route}) has no estimated arrival."
    else:
        if severity is None:
            summary = (
                f"Shipment {ship.shipment_id} ({route}) is on time or within "
                f"{limits.delay_warning_hours:g} h of plan: estimated arrival "
                f"{when(eta)} vs planned {when(ship.planned_arrival)}."
            )
        else:
            summary = (
                f"Shipment {ship.shipment_id} ({route}) is {duration(delay_ms / 1000)} late: "
                f"estimated arrival {when(eta)} vs planned {when(ship.planned_arrival)}."
            )
    evidence = tuple(dict.fromkeys(e for e in (ship.event_id, ship.eta_event_id) if e))
    return AlertState(
        type=AlertType.SHIPMENT_DELAY.value,
        subject=ship.shipment_id,
        severity=severity,
        summary=summary,
        parks=_parks(ship),
        impacted_orders=tuple(sorted(ship.order_ids)),
        impacted_shipments=(ship.shipment_id,),
        evidence=evidence,
        metrics=metrics,
        corridor=ship.corridor,
        at=now,
    )


def corridor_views(ship: ShipmentEntity, delay: AlertState) -> list[tuple[str, ShipmentView]]:
    """The shipment as each corridor it has been on sees it (only the current corridor counts
    it; the others learn that it left)."""
    view = ShipmentView(
        shipment_id=ship.shipment_id,
        event_time=ship.event_time,
        event_id=ship.event_id,
        corridor=ship.corridor,
        delayed=delay.severity is not None,
        order_ids=tuple(sorted(ship.order_ids)),
        parks=delay.parks,
        delay=delay,
    )
    return [(corridor, view) for corridor in ship.corridors]
