"""Compatibility verdicts for the evolution steps Confluent documents, per level."""

from __future__ import annotations

import json
from typing import Any

import pytest

from parklink.registry.compatibility import LEVELS, InvalidSchema, check, level_of, parse


def record(*fields: dict[str, Any]) -> str:
    return json.dumps({"type": "record", "name": "Shipment", "namespace": "t", "fields": fields})


ID = {"name": "id", "type": "string"}
BASE = record(ID, {"name": "weight", "type": "int"}, {"name": "note", "type": "string"})

# (change, old, new): the classic evolution steps.
CHANGES = {
    "add field with default": (
        BASE,
        record(
            ID,
            {"name": "weight", "type": "int"},
            {"name": "note", "type": "string"},
            {"name": "mode", "type": "string", "default": "RAIL"},
        ),
    ),
    "add field without default": (
        BASE,
        record(
            ID,
            {"name": "weight", "type": "int"},
            {"name": "note", "type": "string"},
            {"name": "mode", "type": "string"},
        ),
    ),
    "remove field with default": (
        record(
            ID, {"name": "weight", "type": "int"}, {"name": "note", "type": "string", "default": ""}
        ),
        record(ID, {"name": "weight", "type": "int"}),
    ),
    "remove field without default": (BASE, record(ID, {"name": "weight", "type": "int"})),
    "widen int to long": (
        BASE,
        record(ID, {"name": "weight", "type": "long"}, {"name": "note", "type": "string"}),
    ),
    "change type": (
        BASE,
        record(ID, {"name": "weight", "type": "int"}, {"name": "note", "type": "int"}),
    ),
    "rename with alias": (
        BASE,
        record(
            ID,
            {"name": "weight", "type": "int"},
            {"name": "remark", "type": "string", "aliases": ["note"]},
        ),
    ),
}

# Verdicts as Confluent documents them: (BACKWARD, FORWARD); FULL is both.
VERDICTS = {
    "add field with default": (True, True),
    "add field without default": (False, True),
    "remove field with default": (True, True),
    "remove field without default": (True, False),
    "widen int to long": (True, False),
    "change type": (False, False),
    "rename with alias": (True, False),
}


def expected(change: str, level: str) -> bool:
    backward, forward = VERDICTS[change]
    if level == "NONE":
        return True
    if level.startswith("BACKWARD"):
        return backward
    if level.startswith("FORWARD"):
        return forward
    return backward and forward


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("change", list(CHANGES))
def test_known_evolution_steps(change: str, level: str) -> None:
    old, new = CHANGES[change]
    problems = check(parse(new), [(1, parse(old))], level_of(level))
    assert (not problems) is expected(change, level), problems


def test_messages_name_the_field_and_why() -> None:
    old, new = CHANGES["add field without default"]
    (problem,) = check(parse(new), [(1, parse(old))], "BACKWARD")
    assert "'mode'" in problem
    assert "no default value" in problem
    assert "version 1" in problem

    old, new = CHANGES["change type"]
    problems = check(parse(new), [(3, parse(old))], "FULL")
    assert len(problems) == 2  # both directions
    assert all("'note'" in p and "string" in p and "int" in p for p in problems)

    old, new = CHANGES["widen int to long"]
    (problem,) = check(parse(new), [(1, parse(old))], "FORWARD")
    assert "'weight'" in problem
    assert "reader type: int not compatible with writer type: long" in problem


def test_several_findings_each_named() -> None:
    new = record(
        ID,
        {"name": "weight", "type": "string"},
        {"name": "note", "type": "string"},
        {"name": "mode", "type": "string"},
    )
    problems = check(parse(new), [(1, parse(BASE))], "BACKWARD")
    text = " | ".join(problems)
    assert "'mode'" in text and "no default value" in text
    assert "'weight'" in text and "TYPE_MISMATCH" in text


def test_nested_field_path() -> None:
    def outer(lat_type: str, optional: bool) -> str:
        point = {
            "type": "record",
            "name": "Point",
            "fields": [{"name": "name", "type": "string"}, {"name": "lat", "type": lat_type}],
        }
        if optional:
            return record(ID, {"name": "checkpoint", "type": ["null", point], "default": None})
        return record(ID, {"name": "checkpoint", "type": point})

    old, new = parse(outer("double", False)), parse(outer("string", False))
    (problem,) = check(new, [(1, old)], "BACKWARD")
    assert "'checkpoint.lat'" in problem and "TYPE_MISMATCH" in problem
    # Inside a union avro names the branch, not the nested field.
    old, new = parse(outer("double", True)), parse(outer("string", True))
    (problem,) = check(new, [(1, old)], "BACKWARD")
    assert "'checkpoint'" in problem and "union" in problem


def test_transitive_levels_look_at_every_version() -> None:
    v1 = record(ID)
    v2 = record(ID, {"name": "b", "type": "string", "default": "x"})
    v3 = record(ID, {"name": "b", "type": "string"})
    history = [(1, parse(v1)), (2, parse(v2))]
    assert check(parse(v3), history, "BACKWARD") == []
    (problem,) = check(parse(v3), history, "BACKWARD_TRANSITIVE")
    assert "version 1" in problem and "'b'" in problem

    f1 = record(ID, {"name": "b", "type": "string"})
    f2 = record(ID, {"name": "b", "type": "string", "default": "x"})
    f3 = record(ID)
    history = [(1, parse(f1)), (2, parse(f2))]
    assert check(parse(f3), history, "FORWARD") == []
    assert check(parse(f3), history, "FORWARD_TRANSITIVE") != []
    assert check(parse(f3), history, "FULL") == []
    assert check(parse(f3), history, "FULL_TRANSITIVE") != []


def test_first_version_is_always_compatible() -> None:
    assert check(parse(BASE), [], "FULL_TRANSITIVE") == []


def test_identity_ignores_spelling_but_not_meaning() -> None:
    spaced = json.dumps(json.loads(BASE), indent=4)
    assert parse(spaced).identity == parse(BASE).identity
    assert parse(spaced).canonical == parse(BASE).canonical
    with_default = record(
        ID, {"name": "weight", "type": "int"}, {"name": "note", "type": "string", "default": ""}
    )
    # Parsing canonical form drops defaults; the identity must not, or the default is lost.
    assert parse(with_default).canonical == parse(BASE).canonical
    assert parse(with_default).identity != parse(BASE).identity
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    assert parse(json.dumps(millis)).identity != parse('"long"').identity


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"type": "recrd", "name": "X"}',
        '{"type": "record", "name": "X"}',
        '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int", "default": "x"}]}',
        '{"type": "enum", "name": "E", "symbols": ["A", "A"]}',
    ],
)
def test_invalid_schemas_are_refused(text: str) -> None:
    with pytest.raises(InvalidSchema, match="Invalid schema"):
        parse(text)


def test_level_names() -> None:
    assert level_of("full_transitive") == "FULL_TRANSITIVE"
    with pytest.raises(ValueError, match="BACKWARD"):
        level_of("SIDEWAYS")
