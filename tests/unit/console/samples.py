"""Sample DisruptionAlerts and token/app helpers for the console tests of every tier."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from parklink.eventkit.contracts import DisruptionAlert

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
