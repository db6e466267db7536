from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from factories import CAPACITY, ORDER
from pydantic import ValidationError

from parklink.eventkit.contracts import CapacityEvent, OrderEvent, ShipmentEvent


def test_valid_order_normalises_time_to_utc_millis() -> None:
    order = OrderEvent.model_validate(ORDER)
    assert order.event_time == datetime(2026, 11, 23, 0, 0, 0, 123000, tzinfo=UTC)
    assert order.key() == "PO-1001"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("quantity", -1, "greater than or equal to 0"),
        ("quantity", float("nan"), "finite"),
        ("status", "SHIPPED", "PLACED"),
        ("source_park", "qingdao", "pattern"),
        ("category", "87", "pattern"),
        ("event_id", "not-a-uuid", "UUID"),
        ("event_time", "yesterday", "datetime"),
        ("event_time", "2026-11-23T08:00:00", "timezone"),
        ("due_date", "2026-13-01", "date"),
    ],
)
def test_bad_order_fields_are_named(field: str, value: object, fragment: str) -> None:
    with pytest.raises(ValidationError) as info:
        OrderEvent.model_validate({**ORDER, field: value})
    errors = info.value.errors()
    assert [e["loc"][0] for e in errors] == [field]
    assert fragment.lower() in str(info.value).lower()


def test_unknown_and_missing_fields_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        OrderEvent.model_validate({**ORDER, "colour": "red"})
    missing = dict(ORDER)
    del missing["sku"]
    with pytest.raises(ValidationError, match="sku"):
        OrderEvent.model_validate(missing)


def test_capacity_key_and_rules() -> None:
    cap = CapacityEvent.model_validate(CAPACITY)
    assert cap.key() == "CN-QD-SCODA|8704|2026-12-07"
    with pytest.raises(ValidationError, match="Monday"):
        CapacityEvent.model_validate({**CAPACITY, "week_start": "2026-12-08"})
    with pytest.raises(ValidationError, match="park_id must equal source_park"):
        CapacityEvent.model_validate({**CAPACITY, "park_id": "KZ-KHR-ICBC"})
    with pytest.raises(ValidationError, match="maximum_capacity"):
        CapacityEvent.model_validate({**CAPACITY, "maximum_capacity": 50.0})


def test_shipment_optional_fields_default_to_none() -> None:
    ship = ShipmentEvent.model_validate(
        {
            "event_id": "9d7a1c2e-0b1f-4a5e-8c3d-2e1f0a9b8c7d",
            "event_time": datetime(2026, 11, 23, tzinfo=timezone(timedelta(hours=6))),
            "source_park": "KZ-KHR-ICBC",
            "shipment_id": "SH-1",
            "order_ids": ["PO-1001"],
            "status": "AT_BORDER",
            "mode": "RAIL",
            "origin_park": "CN-QD-SCODA",
            "destination_park": "KZ-ALA-IPA",
            "corridor": "QD-KHR-ALA-RAIL",
            "planned_arrival": "2026-11-30T00:00:00Z",
        }
    )
    assert ship.checkpoint is None and ship.estimated_arrival is None
    assert ship.key() == "SH-1"
    assert ship.planned_arrival.date() == date(2026, 11, 30)
