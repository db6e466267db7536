"""How decoding fails: a timestamp-millis beyond Python's datetimes is a serde error (the
DLQ's `schema-mismatch`), never an OverflowError that escapes the dead-letter path; an
unknown schema id only when the registry says so, a registry that cannot answer is
`RegistryUnavailable` (read the record again later)."""

from __future__ import annotations

import json
from typing import Any

import factories
import pytest
from fastavro import parse_schema

from parklink.eventkit.contracts import OrderEvent
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.registry_client import RegistryError
from parklink.eventkit.schemas import schema_text
from parklink.eventkit.serde import (
    HEADER,
    Deserializer,
    RegistryUnavailable,
    SchemaMismatch,
    SerdeError,
    UnknownSchemaId,
    encode_body,
)


class _Registry:
    def register(self, subject: str, schema: str) -> int:
        return 1

    def schema_by_id(self, schema_id: int) -> str:
        return schema_text("OrderEvent")


def _plain_longs(schema: Any) -> Any:
    """The schema with its timestamps as plain longs, to write any number into them."""
    if isinstance(schema, dict):
        if schema.get("logicalType") == "timestamp-millis":
            return "long"
        return {k: _plain_longs(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_plain_longs(v) for v in schema]
    return schema


def test_a_timestamp_beyond_datetimes_is_a_schema_mismatch() -> None:
    record = factories.order().to_avro() | {"event_time": 2**62}
    body = encode_body(parse_schema(_plain_longs(json.loads(schema_text("OrderEvent")))), record)
    with pytest.raises(SchemaMismatch, match="OverflowError") as caught:
        Deserializer(_Registry(), OrderEvent).deserialize(
            HEADER.pack(0, 1) + body, topic="orders", partition=0, offset=7
        )
    assert caught.value.reason == "schema-mismatch"
    assert caught.value.offset == 7


class _Failing:
    def __init__(self, error: ParkLinkError) -> None:
        self.error = error

    def register(self, subject: str, schema: str) -> int:
        raise self.error

    def schema_by_id(self, schema_id: int) -> str:
        raise self.error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RegistryError("not found", status=404, code=40403), UnknownSchemaId),
        (RegistryError("unreachable: connection refused"), RegistryUnavailable),
        (RegistryError("replaying", status=503, code=50301), RegistryUnavailable),
        (RegistryError("a proxy's 404", status=404), RegistryUnavailable),
        (ParkLinkError("timed out"), RegistryUnavailable),
    ],
)
def test_only_the_registry_saying_unknown_makes_an_unknown_schema_id(
    error: ParkLinkError, expected: type[SerdeError]
) -> None:
    value = HEADER.pack(0, 42) + b"\x00"
    with pytest.raises(SerdeError) as caught:
        Deserializer(_Failing(error), OrderEvent).deserialize(value, topic="orders", offset=3)
    assert type(caught.value) is expected
    assert "schema id 42" in str(caught.value)
    assert caught.value.offset == 3
