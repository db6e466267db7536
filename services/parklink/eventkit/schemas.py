"""The Avro schemas of `schemas/*.avsc`, the single source of truth, loaded and parsed once."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from fastavro import parse_schema

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.paths import SCHEMAS_DIR


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


def schema_names() -> list[str]:
    return sorted(p.stem for p in SCHEMAS_DIR.glob("*.avsc"))
