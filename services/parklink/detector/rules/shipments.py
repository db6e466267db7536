"""SHIPMENT_DELAY, keyed by shipment id: the latest estimated arrival against the planned
arrival; and the shipment's view for its corridor (CORRIDOR_CONGESTION)."""

from __future__ import annotations

from parklink.detector.events import ShipmentRecord
from parklink.detector.rules.limits import bound, bounded_impact
from parklink.detector.rules.text import duration, when
from parklink.detector.state import AlertState, ShipmentEntity, ShipmentView
from parklink.detector.thresholds import Thresholds
from parklink.eventkit.contracts import AlertType, Severity

HOUR_MS = 3_600_000
MAX_CORRIDORS = 16
"""Corridors a shipment remembers having been reported on (the latest ones): those that
still need to learn that it left. A shipment rerouted more often than this is an error of its
park, and the oldest corridors then keep its last view until it leaves the tables."""


def apply_shipment(
    entity: ShipmentEntity | None, event: ShipmentRecord
) -> tuple[ShipmentEntity, bool]:
    """The shipment's new state and whether the event told anything new.

    The status, route and plan come from the latest event by event_time; the ETA from the
    latest event that carries one. The new state is built once (this runs for every
    shipment record)."""
    if entity is None:
        return ShipmentEntity.of(event), True
    event_time, event_id = event.event_time, event.event_id
    newer = (event_time, event_id) > entity.version
    eta = event.estimated_arrival
    newer_eta = eta is not None and (event_time, event_id) > entity.eta_version
    if not newer and not newer_eta:
        return entity, False
    base: ShipmentEntity | ShipmentRecord = event if newer else entity
    corridors = entity.corridors
    if newer and event.corridor not in corridors:
        corridors = (*corridors, event.corridor)[-MAX_CORRIDORS:]
    merged = ShipmentEntity(
        shipment_id=entity.shipment_id,
        event_time=event_time if newer else entity.event_time,
        event_id=event_id if newer else entity.event_id,
        source_park=base.source_park,
        status=event.status if newer else entity.status,
        order_ids=tuple(event.order_ids) if newer else entity.order_ids,
        origin_park=base.origin_park,
        destination_park=base.destination_park,
        corridor=base.corridor,
        planned_arrival=event.planned_arrival if newer else entity.planned_arrival,
        eta=eta if newer_eta and eta is not None else entity.eta,
        eta_time=event_time if newer_eta else entity.eta_time,
        eta_event_id=event_id if newer_eta else entity.eta_event_id,
        corridors=corridors,
    )
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


def same_delay_impact(a: ShipmentEntity, b: ShipmentEntity, limits: Thresholds) -> bool:
    """`delay_impact(a) == delay_impact(b)`, cheaply when the route and orders are the same."""
    if (
        a.order_ids == b.order_ids
        and a.origin_park == b.origin_park
        and a.destination_park == b.destination_park
    ):
        return delay_severity(a, limits) == delay_severity(b, limits)
    return delay_impact(a, limits) == delay_impact(b, limits)


def order_list(ship: ShipmentEntity) -> list[str]:
    """The shipment's orders by id, each once."""
    return sorted(set(ship.order_ids))


def delay_impact(ship: ShipmentEntity, limits: Thresholds) -> tuple[object, ...]:
    """`delay_alert(ship, ...).impact()` without wording the alert."""
    return bounded_impact(
        delay_severity(ship, limits),
        _parks(ship),
        order_list(ship),
        (ship.shipment_id,),
        limits.alert_list_limit,
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
    alert = AlertState(
        type=AlertType.SHIPMENT_DELAY.value,
        subject=ship.shipment_id,
        severity=severity,
        summary=summary,
        parks=_parks(ship),
        impacted_orders=tuple(order_list(ship)),
        impacted_shipments=(ship.shipment_id,),
        evidence=evidence,
        metrics=metrics,
        corridor=ship.corridor,
        at=now,
    )
    return bound(alert, limits.alert_list_limit)


def corridor_views(ship: ShipmentEntity, delay: AlertState) -> list[tuple[str, ShipmentView]]:
    """The shipment as each corridor it has been on sees it (only the current corridor counts
    it; the others learn that it left)."""
    view = ShipmentView(
        shipment_id=ship.shipment_id,
        event_time=ship.event_time,
        event_id=ship.event_id,
        corridor=ship.corridor,
        delayed=delay.severity is not None,
        order_ids=delay.impacted_orders,
        parks=delay.parks,
        delay=delay,
        order_count=len(set(ship.order_ids)),
    )
    return [(corridor, view) for corridor in ship.corridors]
