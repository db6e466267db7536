"""Avro encoding of ParkLink records and the Confluent wire format around it: byte 0x00, the
4-byte big-endian schema id, then the Avro binary body. One serializer/deserializer per record
type; the same code backs the kafka-python services and the faust codec."""

from __future__ import annotations

import io
import json
import struct
from typing import Any, Generic, Protocol, TypeVar

from fastavro import parse_schema, schemaless_reader, schemaless_writer
from fastavro.read import SchemaResolutionError

from parklink.eventkit.contracts import Record
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.schemas import parsed_schema, schema_text, values_schema

MAGIC_BYTE = 0
SCHEMA_NOT_FOUND = 40403
"""The registry API's error code for an unknown schema id."""
HEADER = struct.Struct(">bI")

R = TypeVar("R", bound=Record)


class SerdeError(ParkLinkError):
    """A record could not be encoded or decoded; says where the record came from when known."""

    reason = "serde"

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> None:
        where = ""
        if topic is not None:
            where = f" ({topic}"
            if partition is not None:
                where += f"[{partition}]"
            if offset is not None:
                where += f"@{offset}"
            where += ")"
        super().__init__(message + where)
        self.topic, self.partition, self.offset = topic, partition, offset


class WrongMagicByte(SerdeError):
    reason = "wrong-magic-byte"


class TruncatedRecord(SerdeError):
    reason = "truncated"


class UnknownSchemaId(SerdeError):
    """The registry answered that it does not know the record's schema id."""

    reason = "unknown-schema-id"


class RegistryUnavailable(SerdeError):
    """The registry could not say which schema the record's id is (unreachable, timed out,
    an error of its own): the record may well be fine, so a consumer reads it again later
    instead of setting it aside."""

    reason = "registry-unavailable"


class SchemaMismatch(SerdeError):
    reason = "schema-mismatch"


class InvalidRecord(SerdeError):
    """Decoded fine, but the record breaks the contract (e.g. a negative quantity)."""

    reason = "invalid-record"


class SchemaSource(Protocol):
    """What the serde needs from a schema registry."""

    def register(self, subject: str, schema: str) -> int: ...

    def schema_by_id(self, schema_id: int) -> str: ...


def encode_body(schema: Any, record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    schemaless_writer(buf, schema, record)
    return buf.getvalue()


def decode_body(writer: Any, reader: Any, body: bytes) -> dict[str, Any]:
    """The record of an Avro body written with `writer`, resolved to `reader` (None: read it
    as written, for a writer schema equal to the reader's)."""
    buf = io.BytesIO(body)
    try:
        record = schemaless_reader(buf, writer, reader)
    except SchemaResolutionError as exc:
        raise SchemaMismatch(
            f"a {_name(writer)} (writer schema) cannot be read as a {_name(reader)}"
        ) from exc
    if buf.tell() != len(body):
        raise SchemaMismatch(f"{len(body) - buf.tell()} bytes left after the record")
    if not isinstance(record, dict):
        raise SchemaMismatch(f"decoded a {type(record).__name__}, not a record")
    return record


def _name(schema: Any) -> str:
    return str(schema.get("name", "?")).rsplit(".", 1)[-1] if isinstance(schema, dict) else "?"


def split_frame(data: bytes | None) -> tuple[int, bytes]:
    """(schema id, Avro body) of a Confluent-framed value."""
    if data is None:
        raise TruncatedRecord("empty value (tombstone) where a record was expected")
    if len(data) < HEADER.size:
        raise TruncatedRecord(f"value of {len(data)} bytes is shorter than the 5-byte header")
    magic, schema_id = HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        raise WrongMagicByte(f"first byte is {magic}, not the Confluent magic byte 0")
    return schema_id, data[HEADER.size :]


class Serializer(Generic[R]):
    """Model -> Confluent-framed bytes for one record type on one topic."""

    def __init__(self, registry: SchemaSource, model: type[R], subject: str) -> None:
        self.model = model
        self.subject = subject
        self._registry = registry
        self._schema = parsed_schema(model.schema_name)
        self._header: bytes | None = None

    @property
    def header(self) -> bytes:
        if self._header is None:
            schema_id = self._registry.register(self.subject, schema_text(self.model.schema_name))
            self._header = HEADER.pack(MAGIC_BYTE, schema_id)
        return self._header

    def serialize(self, record: R) -> bytes:
        try:
            body = encode_body(self._schema, record.to_avro())
        except (ValueError, TypeError, KeyError) as exc:
            raise SchemaMismatch(
                f"{self.model.schema_name} does not fit its schema: {exc}"
            ) from exc
        return self.header + body


class WriterSchemas:
    """The parsed writer schemas by id, fetched from the registry once each: the one cache of
    every deserializer that reads by schema id."""

    def __init__(self, registry: SchemaSource) -> None:
        self._registry = registry
        self._parsed: dict[int, Any] = {}

    def __getitem__(self, schema_id: int) -> Any:
        writer = self._parsed.get(schema_id)
        if writer is None:
            try:
                text = self._registry.schema_by_id(schema_id)
            except ParkLinkError as exc:
                if _says_unknown(exc):
                    raise UnknownSchemaId(f"schema id {schema_id} unknown to the registry") from exc
                raise RegistryUnavailable(
                    f"the registry could not tell schema id {schema_id}: {exc}"
                ) from exc
            writer = parse_schema(json.loads(text))
            self._parsed[schema_id] = writer
        return writer


def _says_unknown(exc: ParkLinkError) -> bool:
    """Whether the registry itself answered that the id is unknown: 404 with the registry
    API's error code 40403 (a 404 without it may come from a proxy or a wrong URL)."""
    return getattr(exc, "status", None) == 404 and getattr(exc, "code", None) == SCHEMA_NOT_FOUND


_BODY_ERRORS = (
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    OverflowError,  # a timestamp-millis beyond the datetimes Python has
    struct.error,
)
"""What fastavro raises for a body that is not a record of the schema it is read with."""
_UNKNOWN = object()


class Deserializer(Generic[R]):
    """Confluent-framed bytes -> validated model, resolving the writer's schema (by id) to
    this code's reader schema, so records written with an older or newer compatible schema
    still decode."""

    def __init__(self, registry: SchemaSource, model: type[R]) -> None:
        self.model = model
        self._reader = parsed_schema(model.schema_name)
        self._writers = WriterSchemas(registry)
        self._resolve: dict[int, Any] = {}
        self._values_schema = values_schema(model.schema_name)
        self._values_by_id: dict[int, Any] = {}
        """By writer schema id: the values schema to read it with, None for another schema."""

    def _reader_for(self, schema_id: int, writer: Any) -> Any:
        """This code's reader schema, or None where the writer's schema is the same one: a
        resolving read costs about three times a plain one, and records are nearly always
        written with the current schema."""
        try:
            return self._resolve[schema_id]
        except KeyError:
            reader = self._resolve[schema_id] = None if writer == self._reader else self._reader
            return reader

    def decode_dict(
        self,
        data: bytes | None,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> dict[str, Any]:
        try:
            schema_id, body = split_frame(data)
            writer = self._writers[schema_id]
            return decode_body(writer, self._reader_for(schema_id, writer), body)
        except SerdeError as exc:
            raise type(exc)(str(exc), topic=topic, partition=partition, offset=offset) from exc
        except _BODY_ERRORS as exc:
            raise SchemaMismatch(
                f"not a {self.model.schema_name} body: {type(exc).__name__}: {exc}",
                topic=topic,
                partition=partition,
                offset=offset,
            ) from exc

    def read_values(
        self,
        data: bytes | None,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> dict[str, Any] | None:
        """The record's values as the wire holds them (timestamps as epoch milliseconds,
        dates as epoch days, not checked against the contract) when it was written with this
        code's own schema and its body reads cleanly; None when it must be resolved from
        another schema or does not read, which `deserialize` then does or refuses with its
        reason. A bad frame or a registry that cannot tell the schema raises as in
        `deserialize`."""
        try:
            schema_id, body = split_frame(data)
            schema = self._values_by_id.get(schema_id, _UNKNOWN)
            if schema is _UNKNOWN:
                writer = self._writers[schema_id]
                own = self._reader_for(schema_id, writer) is None
                schema = self._values_by_id[schema_id] = self._values_schema if own else None
        except SerdeError as exc:
            raise type(exc)(str(exc), topic=topic, partition=partition, offset=offset) from exc
        if schema is None:
            return None
        buf = io.BytesIO(body)
        try:
            record = schemaless_reader(buf, schema, None)
        except _BODY_ERRORS:  # `deserialize` says what is wrong with it
            return None
        if buf.tell() != len(body) or not isinstance(record, dict):
            return None
        return record

    def deserialize(
        self,
        data: bytes | None,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> R:
        raw = self.decode_dict(data, topic=topic, partition=partition, offset=offset)
        try:
            record: R = self.model.model_validate(raw)
        except ValueError as exc:
            raise InvalidRecord(
                f"{self.model.schema_name} breaks the contract: {exc}",
                topic=topic,
                partition=partition,
                offset=offset,
            ) from exc
        return record


class GenericDeserializer:
    """Bytes -> plain dict with the writer's own schema (for `parklink subscribe`)."""

    def __init__(self, registry: SchemaSource) -> None:
        self._writers = WriterSchemas(registry)

    def deserialize(self, data: bytes | None) -> dict[str, Any]:
        schema_id, body = split_frame(data)
        writer = self._writers[schema_id]
        try:
            return decode_body(writer, writer, body)
        except (EOFError, ValueError, TypeError, IndexError, OverflowError, struct.error) as exc:
            raise SchemaMismatch(f"body does not match schema {schema_id}: {exc}") from exc
