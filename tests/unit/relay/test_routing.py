"""The relay's decision for each ingress record, with ParkLink's real serde and a registry
held in memory."""

from __future__ import annotations

import factories
import pytest

from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import PARK_EVENT_MODELS, OrderEvent
from parklink.eventkit.registry_client import RegistryError
from parklink.eventkit.serde import Deserializer, RegistryUnavailable, Serializer
from parklink.relay.routing import FOREIGN_PARK, NOT_INGRESS, Forward, Reject, Router

CATALOG = load_catalog()


class MemoryRegistry:
    def __init__(self) -> None:
        self.schemas: list[str] = []

    def register(self, subject: str, schema: str) -> int:
        if schema not in self.schemas:
            self.schemas.append(schema)
        return self.schemas.index(schema) + 1

    def schema_by_id(self, schema_id: int) -> str:
        return self.schemas[schema_id - 1]


def router() -> tuple[Router, MemoryRegistry]:
    registry = MemoryRegistry()
    decoders = {role: Deserializer(registry, model) for role, model in PARK_EVENT_MODELS.items()}
    return Router(CATALOG, "alliance.", decoders), registry


def test_a_park_own_record_goes_to_the_shared_topic() -> None:
    route, registry = router()
    data = Serializer(registry, OrderEvent, "alliance.orders.v1-value").serialize(
        factories.order(source_park="KZ-ALA-IPA")
    )
    decision = route.route("alliance.ingress.KZ-ALA-IPA.orders.v1", data, 0, 7)
    assert decision == Forward("alliance.orders.v1", "KZ-ALA-IPA")


def test_a_record_claiming_another_park_is_rejected() -> None:
    route, registry = router()
    data = Serializer(registry, OrderEvent, "alliance.orders.v1-value").serialize(
        factories.order(source_park="KZ-ALA-IPA")
    )
    decision = route.route("alliance.ingress.CN-QD-SCODA.orders.v1", data, 0, 7)
    assert isinstance(decision, Reject) and decision.reason == FOREIGN_PARK
    assert decision.park == "CN-QD-SCODA" and "KZ-ALA-IPA" in decision.message


def test_undecodable_wrong_kind_and_foreign_topics_are_rejected() -> None:
    route, registry = router()
    order = Serializer(registry, OrderEvent, "alliance.orders.v1-value").serialize(
        factories.order(source_park="KZ-ALA-IPA")
    )
    wrong_kind = route.route("alliance.ingress.KZ-ALA-IPA.shipments.v1", order, 0, 1)
    assert isinstance(wrong_kind, Reject) and wrong_kind.reason == "schema-mismatch"
    garbage = route.route("alliance.ingress.KZ-ALA-IPA.orders.v1", b"\x01junk", 0, 2)
    assert isinstance(garbage, Reject) and garbage.reason == "wrong-magic-byte"
    unknown = route.route("alliance.ingress.KZ-ALA-IPA.alerts.v1", order, 0, 3)
    assert isinstance(unknown, Reject) and unknown.reason == NOT_INGRESS


class DownRegistry(MemoryRegistry):
    """Registers, then cannot look anything up (as while it restarts)."""

    def schema_by_id(self, schema_id: int) -> str:
        raise RegistryError("schema registry unreachable", status=503)


def test_a_registry_that_cannot_answer_is_no_decision() -> None:
    registry = DownRegistry()
    decoders = {role: Deserializer(registry, model) for role, model in PARK_EVENT_MODELS.items()}
    route = Router(CATALOG, "alliance.", decoders)
    data = Serializer(registry, OrderEvent, "alliance.orders.v1-value").serialize(
        factories.order(source_park="KZ-ALA-IPA")
    )
    with pytest.raises(RegistryUnavailable):
        route.route("alliance.ingress.KZ-ALA-IPA.orders.v1", data, 0, 7)
