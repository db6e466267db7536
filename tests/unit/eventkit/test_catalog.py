from pathlib import Path

import pytest

from parklink.eventkit.catalog import load_catalog, parse_catalog
from parklink.eventkit.errors import ParkLinkError


def test_repo_catalog_names_every_design_topic() -> None:
    catalog = load_catalog()
    names = {spec.topic("alliance.") for spec in catalog.topics.values()}
    assert names == {
        "alliance.orders.v1",
        "alliance.shipments.v1",
        "alliance.capacity.v1",
        "alliance.alerts.v1",
        "alliance.dlq.v1",
    }
    assert catalog["alerts"].cleanup_policy == "compact"
    assert catalog.by_value("ShipmentEvent").subject("alliance.") == "alliance.shipments.v1-value"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "needs a [topics.<role>] table"),
        ({"topics": {"x": {"name": "x", "partitions": 0}}}, "partitions must be a whole number"),
        ({"topics": {"x": {"name": "x", "cleanup_policy": "shred"}}}, "cleanup_policy 'shred'"),
        ({"topics": {"x": {"name": "x", "partitons": 3}}}, "unknown field(s) partitons"),
        ({"topics": {"x": {"partitions": 3}}}, "name must be a non-empty string"),
    ],
)
def test_malformed_catalog_gives_one_clear_line(doc: dict[str, object], message: str) -> None:
    with pytest.raises(ParkLinkError) as info:
        parse_catalog(doc)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_catalog_that_is_not_toml(tmp_path: Path) -> None:
    bad = tmp_path / "topics.toml"
    bad.write_text("[topics.orders\nname=")
    with pytest.raises(ParkLinkError, match="not valid TOML"):
        load_catalog(bad)
