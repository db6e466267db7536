"""Confluent framing and Avro encoding, against an in-memory schema source (pure logic)."""

import struct

import pytest
from factories import ORDER

from parklink.eventkit.contracts import OrderEvent, ShipmentEvent
from parklink.eventkit.serde import (
    Deserializer,
    GenericDeserializer,
    InvalidRecord,
    SchemaMismatch,
    Serializer,
    TruncatedRecord,
    UnknownSchemaId,
    WrongMagicByte,
)


class MemorySchemas:
    def __init__(self) -> None:
        self.by_id: dict[int, str] = {}

    def register(self, subject: str, schema: str) -> int:
        for schema_id, text in self.by_id.items():
            if text == schema:
                return schema_id
        schema_id = 100 + len(self.by_id)
        self.by_id[schema_id] = schema
        return schema_id

    def schema_by_id(self, schema_id: int) -> str:
        try:
            return self.by_id[schema_id]
        except KeyError:
            # what the registry client raises for the registry's answer "unknown id"
            from parklink.eventkit.registry_client import RegistryError

            raise RegistryError("Schema not found", status=404, code=40403) from None


@pytest.fixture
def schemas() -> MemorySchemas:
    return MemorySchemas()


def test_round_trip_and_frame_layout(schemas: MemorySchemas) -> None:
    order = OrderEvent.model_validate(ORDER)
    ser = Serializer(schemas, OrderEvent, "alliance.orders.v1-value")
    data = ser.serialize(order)
    assert data[0] == 0
    assert struct.unpack(">I", data[1:5])[0] == 100
    assert Deserializer(schemas, OrderEvent).deserialize(data) == order
    assert GenericDeserializer(schemas).deserialize(data)["order_id"] == "PO-1001"


def test_errors_say_what_and_where(schemas: MemorySchemas) -> None:
    order = OrderEvent.model_validate(ORDER)
    data = Serializer(schemas, OrderEvent, "s").serialize(order)
    de = Deserializer(schemas, OrderEvent)
    with pytest.raises(WrongMagicByte, match=r"first byte is 1.*\(orders\[2\]@17\)"):
        de.deserialize(b"\x01" + data[1:], topic="orders", partition=2, offset=17)
    with pytest.raises(TruncatedRecord, match="shorter than the 5-byte header"):
        de.deserialize(data[:3])
    with pytest.raises(UnknownSchemaId, match="schema id 999"):
        de.deserialize(b"\x00" + struct.pack(">I", 999) + data[5:])
    with pytest.raises(SchemaMismatch):
        de.deserialize(data[:-7])
    with pytest.raises(SchemaMismatch):
        de.deserialize(b"\x00" + data[1:5] + b"\xff" * 40)


def test_record_decoding_fine_but_breaking_the_contract(schemas: MemorySchemas) -> None:
    order = OrderEvent.model_validate(ORDER)
    bad = order.model_copy(update={"quantity": -5.0})  # model_copy skips validation
    data = Serializer(schemas, OrderEvent, "s").serialize(bad)
    with pytest.raises(InvalidRecord, match="quantity"):
        Deserializer(schemas, OrderEvent).deserialize(data)


def test_other_record_type_is_a_mismatch(schemas: MemorySchemas) -> None:
    data = Serializer(schemas, OrderEvent, "s").serialize(OrderEvent.model_validate(ORDER))
    with pytest.raises((SchemaMismatch, InvalidRecord)):
        Deserializer(schemas, ShipmentEvent).deserialize(data)
