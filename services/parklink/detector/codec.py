"""Codecs: the project's Avro serde as a faust codec (Confluent-framed records), UTF-8 string
keys, and JSON for the detector's own state and internal messages."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec
from faust.serializers.codecs import Codec

from parklink.detector.events import FROM_VALUES, ParkRecord, of_model
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent, Record
from parklink.eventkit.serde import Deserializer, Serializer
from parklink.eventkit.validation import contract_values

R = TypeVar("R", bound=Record)
T = TypeVar("T")


class SerdeCodec(Codec, Generic[R]):
    """One record type on one topic, through `parklink.eventkit.serde`: the same code the
    kafka-python services use, so faust reads and writes exactly what they do."""

    def __init__(
        self,
        serializer: Serializer[R],
        deserializer: Deserializer[R],
        children: tuple[Codec, ...] | None = None,
    ) -> None:
        super().__init__(children=children, serializer=serializer, deserializer=deserializer)
        self.serializer = serializer
        self.deserializer = deserializer

    def _dumps(self, obj: Any) -> bytes:
        if not isinstance(obj, self.serializer.model):
            raise TypeError(f"expected a {self.serializer.model.__name__}, got {type(obj)!r}")
        return self.serializer.serialize(obj)

    def _loads(self, s: bytes) -> R:
        return self.deserializer.deserialize(s)


class EventDecoder:
    """A park topic's records -> the stages' records (`events.py`). A record written with this
    code's schema is read as its wire values and, when the contract's checks say it is
    certainly within the contract (`validation.contract_values`), becomes the stages' record
    directly: a third of the cost of the model. Every other record goes through the contract
    model (`Deserializer.deserialize`), which resolves other schemas and refuses, with its
    reason and message, whatever breaks the contract."""

    def __init__(self, registry: Any, role: str) -> None:
        self.role = role
        self._deserializer: Deserializer[ParkEvent] = Deserializer(
            registry, PARK_EVENT_MODELS[role]
        )
        self._make = FROM_VALUES[role]

    def deserialize(
        self,
        data: bytes | None,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
    ) -> ParkRecord:
        d = self._deserializer
        values = d.read_values(data, topic=topic, partition=partition, offset=offset)
        if values is not None:
            plain = contract_values(self.role, values)
            if plain is not None:
                return self._make(plain.record)
        return of_model(d.deserialize(data, topic=topic, partition=partition, offset=offset))


class Utf8Codec(Codec):
    """Plain UTF-8 strings (faust's "raw" would give bytes back on recovery)."""

    def _dumps(self, obj: Any) -> bytes:
        return obj.encode() if isinstance(obj, str) else bytes(obj)

    def _loads(self, s: bytes) -> str:
        return s.decode()


class DataclassCodec(Codec, Generic[T]):
    """JSON for the plain dataclasses of `state.py` (typed and checked on the way back in):
    one object per field name, tuples as arrays, enums by value. msgspec writes the same bytes
    as pydantic's `dump_json` at a third of its cost, and reads them back into the dataclasses
    (a field of the wrong type is a `ValueError`) at half of it; both run for every table
    write and every message between stages."""

    _encoder = msgspec.json.Encoder()

    def __init__(self, model: Any, children: tuple[Codec, ...] | None = None) -> None:
        super().__init__(children=children, model=model)
        self._decoder: msgspec.json.Decoder[T] = msgspec.json.Decoder(model)

    def _dumps(self, obj: Any) -> bytes:
        return self._encoder.encode(obj)

    def _loads(self, s: bytes) -> T:
        return self._decoder.decode(s)
