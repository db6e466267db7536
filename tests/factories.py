"""Valid sample events for tests; override any field with keyword arguments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from parklink.eventkit.contracts import CapacityEvent, DisruptionAlert, OrderEvent, ShipmentEvent

ORDER: dict[str, Any] = {
    "event_id": "0f8c5f2e-3b8a-4d55-9a43-6d1c2b7f9e10",
    "event_time": "2026-11-23T08:00:00.123456+08:00",
    "source_park": "KZ-ALA-IPA",
    "order_id": "PO-1001",
    "status": "PLACED",
    "buyer_park": "KZ-ALA-IPA",
    "supplier_park": "CN-QD-SCODA",
    "sku": "TRK-CAB-7",
    "category": "8704",
    "quantity": 120,
    "unit": "pcs",
    "due_date": "2026-12-09",
    "value": {"amount": 1_500_000.0, "currency": "CNY"},
}

SHIPMENT: dict[str, Any] = {
    "event_id": "9d7a1c2e-0b1f-4a5e-8c3d-2e1f0a9b8c7d",
    "event_time": "2026-11-23T06:00:00Z",
    "source_park": "KZ-ALA-IPA",
    "shipment_id": "SH-1",
    "order_ids": ["PO-1001"],
    "status": "AT_BORDER",
    "mode": "RAIL",
    "origin_park": "CN-QD-SCODA",
    "destination_park": "KZ-ALA-IPA",
    "corridor": "QD-KHR-ALA-RAIL",
    "checkpoint": {"name": "Khorgos/Altynkol", "lat": 44.21, "lon": 80.41},
    "planned_arrival": "2026-11-30T00:00:00Z",
    "estimated_arrival": "2026-12-01T12:00:00Z",
}

CAPACITY: dict[str, Any] = {
    "event_id": "5b0f2a34-8f3e-4d0c-9a0e-1b2c3d4e5f60",
    "event_time": "2026-11-23T08:00:00Z",
    "source_park": "CN-QD-SCODA",
    "park_id": "CN-QD-SCODA",
    "category": "8704",
    "week_start": "2026-12-07",
    "actual_capacity": 100.0,
    "maximum_capacity": 130.0,
    "unit": "pcs",
    "reason": None,
}


def _fresh(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    doc = {**base, "event_id": str(uuid.uuid4())}
    doc.update(overrides)
    return doc


def order(**overrides: Any) -> OrderEvent:
    return OrderEvent.model_validate(_fresh(ORDER, overrides))


def shipment(**overrides: Any) -> ShipmentEvent:
    return ShipmentEvent.model_validate(_fresh(SHIPMENT, overrides))


def capacity(**overrides: Any) -> CapacityEvent:
    return CapacityEvent.model_validate(_fresh(CAPACITY, overrides))


T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def alert(**overrides: Any) -> DisruptionAlert:
    """A firing SHIPMENT_DELAY of SH-1 on QD-KHR-ALA-RAIL; override any field."""
    doc: dict[str, Any] = {
        "alert_id": "SHIPMENT_DELAY|SH-1",
        "type": "SHIPMENT_DELAY",
        "severity": "WARNING",
        "status": "FIRING",
        "subject": "SH-1",
        "parks": ["CN-QD-SCODA", "KZ-ALA-IPA"],
        "impacted_orders": ["PO-1001"],
        "impacted_shipments": ["SH-1"],
        "summary": "Shipment SH-1 is 36 h late on QD-KHR-ALA-RAIL.",
        "evidence": ["9d7a1c2e-0b1f-4a5e-8c3d-2e1f0a9b8c7d"],
        "metrics": {"delay_hours": 36.0},
        "started_at": T0,
        "updated_at": T0,
        "resolved_at": None,
        "corridor": "QD-KHR-ALA-RAIL",
    }
    doc.update(overrides)
    if "alert_id" not in overrides:
        doc["alert_id"] = f"{doc['type']}|{doc['subject']}"
    return DisruptionAlert.model_validate(doc)


def resolved(firing: DisruptionAlert, after: timedelta = timedelta(hours=5)) -> DisruptionAlert:
    at = firing.updated_at + after
    doc = {**firing.model_dump(), "status": "RESOLVED", "updated_at": at, "resolved_at": at}
    return DisruptionAlert.model_validate(doc)
