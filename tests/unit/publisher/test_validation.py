"""The validation the gateway and the SDK share: all or nothing, index + field path."""

import math

import factories
import pytest

from parklink.eventkit.errors import EventRejected, ForeignPark, UnknownKind
from parklink.eventkit.parties import check_own_park
from parklink.eventkit.validation import field_path, validate_batch


def test_valid_batch_gives_models_in_order() -> None:
    docs = [{**factories.ORDER, "order_id": f"PO-{i}"} for i in range(3)]
    events = validate_batch("orders", docs)
    assert [e.key() for e in events] == ["PO-0", "PO-1", "PO-2"]


def test_one_bad_item_rejects_the_batch_with_index_and_path() -> None:
    docs = [dict(factories.ORDER) for _ in range(500)]
    docs[317] = {**factories.ORDER, "value": {"amount": 1.0, "currency": "yuan"}}
    with pytest.raises(EventRejected) as err:
        validate_batch("orders", docs)
    assert [(d["index"], d["path"]) for d in err.value.details] == [(317, "value.currency")]
    assert "index 317" in str(err.value)


@pytest.mark.parametrize(
    ("override", "path"),
    [
        ({"status": "SHIPPED"}, "status"),
        ({"quantity": -1}, "quantity"),
        ({"quantity": math.nan}, "quantity"),
        ({"quantity": "lots"}, "quantity"),
        ({"event_time": "yesterday"}, "event_time"),
        ({"order_id": None}, "order_id"),
    ],
)
def test_each_violation_names_its_field(override: dict[str, object], path: str) -> None:
    with pytest.raises(EventRejected) as err:
        validate_batch("orders", [{**factories.ORDER, **override}])
    assert err.value.details[0]["path"] == path


def test_missing_field_and_empty_batch() -> None:
    doc = dict(factories.SHIPMENT)
    del doc["corridor"]
    with pytest.raises(EventRejected) as err:
        validate_batch("shipments", [doc])
    assert err.value.details[0]["path"] == "corridor"
    assert err.value.details[0]["message"] == "Field required"
    with pytest.raises(EventRejected, match="empty"):
        validate_batch("shipments", [])


def test_foreign_park_is_refused_before_validation() -> None:
    check_own_park("orders", [factories.ORDER], "KZ-ALA-IPA")
    with pytest.raises(ForeignPark) as err:
        check_own_park("orders", [{"source_park": "CN-QD-SCODA"}], "KZ-ALA-IPA")
    assert err.value.details[0]["path"] == "source_park"
    other = {**factories.CAPACITY, "park_id": "KZ-ALA-IPA"}
    with pytest.raises(ForeignPark) as err:
        check_own_park("capacity", [other], "CN-QD-SCODA")
    assert err.value.details[0]["path"] == "park_id"


def test_paths_and_kinds() -> None:
    assert field_path(("order_ids", 2)) == "order_ids[2]"
    assert field_path(("checkpoint", "lat")) == "checkpoint.lat"
    with pytest.raises(UnknownKind):
        validate_batch("alerts", [{}])
