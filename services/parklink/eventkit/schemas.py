"""The Avro schemas of `schemas/*.avsc`, the single source of truth, loaded and parsed once,
and their registration with a schema registry."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from fastavro import parse_schema

from parklink.eventkit.catalog import Catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.paths import SCHEMAS_DIR
from parklink.eventkit.registry_client import RegistryClient, RegistryError


@cache
def schema_dict(name: str) -> dict[str, Any]:
    """The JSON of `schemas/<name>.avsc`."""
    path = SCHEMAS_DIR / f"{name}.avsc"
    try:
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ParkLinkError(f"no schema {name!r}: {path} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise ParkLinkError(f"{path}: not valid JSON: {exc}") from exc
    return loaded


def schema_text(name: str) -> str:
    """Canonical-enough JSON text of a schema, as sent to a registry."""
    return json.dumps(schema_dict(name), separators=(",", ":"), sort_keys=False)


@cache
def parsed_schema(name: str) -> Any:
    """The fastavro-parsed schema (for the encode/decode hot path)."""
    return parse_schema(schema_dict(name))


@cache
def values_schema(name: str) -> Any:
    """The parsed schema without its logical types: a record read with it holds the values on
    the wire (timestamps as epoch milliseconds, dates as epoch days), which costs less than
    building datetimes and dates, and is what a reader that works on epoch numbers wants."""
    return parse_schema(_without_logical_types(schema_dict(name)))


def _without_logical_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(v) for v in schema]
    return schema


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMAS_DIR.glob("*.avsc"))


@dataclass(frozen=True)
class Registered:
    record: str
    subject: str
    schema_id: int
    version: int


def register_schemas(
    client: RegistryClient, catalog: Catalog, topic_prefix: str
) -> tuple[list[Registered], list[str]]:
    """Register every record of `schemas/` under the subject of the topic that carries it
    (topic-name strategy); returns what was registered and the records no topic carries.
    Idempotent; ParkLinkError naming the record when the registry finds it incompatible."""
    done: list[Registered] = []
    skipped: list[str] = []
    for name in schema_names():
        try:
            spec = catalog.by_value(name)
        except ParkLinkError:
            skipped.append(name)
            continue
        subject = spec.subject(topic_prefix)
        text = schema_text(name)
        try:
            client.register(subject, text)
            found = client.lookup_version(subject, text)
        except RegistryError as exc:
            if exc.code == 409:
                raise ParkLinkError(
                    f"{name} is incompatible with what {subject} holds: {exc}"
                ) from exc
            raise
        done.append(Registered(name, subject, int(found["id"]), int(found["version"])))
    return done, skipped
