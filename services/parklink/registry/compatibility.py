"""Schema parsing, identity and compatibility checks: pure logic, no I/O. The verdicts come from
avro's own `ReaderWriterCompatibilityChecker`; this module picks the reader/writer pairs a level
asks for and turns the checker's findings into messages naming the field and the reason."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import avro.errors
import avro.schema
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
    SchemaIncompatibilityType,
)
from fastavro import parse_schema as fastavro_parse

Level = Literal[
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
]
LEVELS: tuple[Level, ...] = get_args(Level)
DEFAULT_LEVEL: Level = "BACKWARD"


class InvalidSchema(ValueError):
    """The text is not a valid Avro schema; the message says why."""


@dataclass(frozen=True)
class ParsedSchema:
    text: str  # as the client sent it; served back unchanged
    identity: str  # normalized full form: equal for the same schema however it is spelled
    canonical: str  # Avro parsing canonical form (drops defaults, docs, logical types)
    avro: avro.schema.Schema


MAX_DEPTH = 64


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """ValueError when the JSON `text` nests objects/arrays deeper than `limit`; a linear scan
    without recursion, run before any parser that recurses (json, avro, fastavro)."""
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                raise ValueError(f"nested deeper than {limit} levels")
        elif ch in "]}":
            depth -= 1


def parse(text: str) -> ParsedSchema:
    """Parse and validate an Avro schema text (with avro, and with fastavro, which the serde
    uses, so that every registered schema can also be encoded and decoded)."""
    try:
        check_depth(text)
    except ValueError as exc:
        raise InvalidSchema(f"Invalid schema: {exc}") from exc
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise InvalidSchema(f"Invalid schema: not JSON: {exc}") from exc
    try:
        parsed = avro.schema.parse(text)
    except (avro.errors.AvroException, TypeError, ValueError, KeyError, AttributeError) as exc:
        raise InvalidSchema(f"Invalid schema: {exc}") from exc
    try:
        fastavro_parse(doc)
    except Exception as exc:  # fastavro raises many kinds (SchemaParseException, ValueError, ...)
        raise InvalidSchema(f"Invalid schema: {exc}") from exc
    identity = json.dumps(parsed.to_json(), sort_keys=True, separators=(",", ":"))
    return ParsedSchema(text=text, identity=identity, canonical=parsed.canonical_form, avro=parsed)


def level_of(raw: object) -> Level:
    """The level named by `raw` (case-insensitive); ValueError when it is not one."""
    if isinstance(raw, str) and raw.upper() in LEVELS:
        return LEVELS[LEVELS.index(raw.upper())]
    raise ValueError(f"Invalid compatibility level {raw!r}; valid levels are {', '.join(LEVELS)}")


def check(
    new: ParsedSchema, previous: Sequence[tuple[int, ParsedSchema]], level: Level
) -> list[str]:
    """Why `new` may not follow `previous` (live versions, oldest first) under `level`; an
    empty list means compatible. Non-transitive levels look at the latest version only."""
    if level == "NONE" or not previous:
        return []
    against = previous if level.endswith("_TRANSITIVE") else previous[-1:]
    backward = level.startswith(("BACKWARD", "FULL"))
    forward = level.startswith(("FORWARD", "FULL"))
    problems: list[str] = []
    for version, old in reversed(against):
        if backward:
            problems += _problems(
                new, old, f"the new schema cannot read data written with version {version}"
            )
        if forward:
            problems += _problems(
                old, new, f"version {version} cannot read data written with the new schema"
            )
    return problems


def check_pair(reader: ParsedSchema, writer: ParsedSchema) -> list[str]:
    """Why `reader` cannot read data written with `writer`; empty when it can."""
    return _problems(reader, writer, "the reader cannot read the writer's data")


def _problems(reader: ParsedSchema, writer: ParsedSchema, direction: str) -> list[str]:
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(reader.avro, writer.avro)
    if result.compatibility is not SchemaCompatibilityType.incompatible:
        return []
    reader_doc = reader.avro.to_json()
    # merge() keeps the checker's starting location "/" next to the real ones.
    locations = sorted(result.locations - {"/"}) or ["/"]
    messages = set(result.messages)
    kinds = set(result.incompatibilities)
    found: list[str] = []
    # The checker reports findings as unordered sets; a missing-default finding's message is
    # the field's own name, which pairs it with its location.
    if SchemaIncompatibilityType.reader_field_missing_default_value in kinds:
        for loc in list(locations):
            name = _field_name(reader_doc, loc)
            if name is not None and name in messages and loc.rsplit("/", 2)[-2] == "fields":
                found.append(_explain(_MISSING_DEFAULT, name, reader_doc, loc))
                locations.remove(loc)
                messages.discard(name)
        kinds.discard(_MISSING_DEFAULT)
    if len(locations) == 1 and len(messages) == 1 and len(kinds) == 1:
        found.append(_explain(kinds.pop(), messages.pop(), reader_doc, locations[0]))
    elif locations and messages:
        where = ", ".join(f"{_describe_location(reader_doc, loc)} ({loc})" for loc in locations)
        names = ", ".join(sorted(k.value.upper() for k in kinds))
        found.append(f"{names} at {where}: {'; '.join(sorted(messages))}")
    return [f"{direction}: {item}" for item in found]


_MISSING_DEFAULT = SchemaIncompatibilityType.reader_field_missing_default_value


def _explain(kind: SchemaIncompatibilityType, message: str, reader_doc: Any, location: str) -> str:
    at = f"{_describe_location(reader_doc, location)} ({location})"
    if kind is SchemaIncompatibilityType.reader_field_missing_default_value:
        return (
            f"READER_FIELD_MISSING_DEFAULT_VALUE: {at} has no default value and is missing "
            "from the writer's schema"
        )
    if kind is SchemaIncompatibilityType.type_mismatch:
        return f"TYPE_MISMATCH at {at}: {message}"
    if kind is SchemaIncompatibilityType.name_mismatch:
        return f"NAME_MISMATCH at {at}: the reader's name differs, {message}"
    if kind is SchemaIncompatibilityType.fixed_size_mismatch:
        return f"FIXED_SIZE_MISMATCH at {at}: {message}"
    if kind is SchemaIncompatibilityType.missing_enum_symbols:
        return f"MISSING_ENUM_SYMBOLS at {at}: the reader lacks the writer's symbols {message}"
    return f"MISSING_UNION_BRANCH at {at}: {message}"


def _field_name(reader_doc: Any, location: str) -> str | None:
    names = _field_path(reader_doc, location)
    return names[-1] if names else None


def _describe_location(reader_doc: Any, location: str) -> str:
    """`field 'checkpoint.lat'` for a location such as /fields/5/type/1/fields/1/type."""
    names = _field_path(reader_doc, location)
    return f"field '{'.'.join(names)}'" if names else "the schema root"


def _field_path(reader_doc: Any, location: str) -> list[str]:
    steps = [t for t in location.split("/") if t]
    node: Any = reader_doc
    names: list[str] = []
    i = 0
    while i < len(steps):
        step = steps[i]
        if step == "fields" and i + 1 < len(steps) and isinstance(node, dict):
            fields = node.get("fields") or []
            index = int(steps[i + 1]) if steps[i + 1].isdigit() else -1
            if not 0 <= index < len(fields):
                break
            names.append(str(fields[index].get("name")))
            node = fields[index]
            i += 2
            continue
        if step in {"type", "items", "values"} and isinstance(node, dict):
            node = node.get(step)
        elif step.isdigit() and isinstance(node, list) and int(step) < len(node):
            node = node[int(step)]
        i += 1
    return names
