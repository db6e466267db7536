"""Valid sample events for tests; override any field with keyword arguments."""

from __future__ import annotations

import uuid
from typing import Any

from parklink.eventkit.contracts import CapacityEvent, OrderEvent, ShipmentEvent

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
    "source_park": "KZ-KHR-ICBC",
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
