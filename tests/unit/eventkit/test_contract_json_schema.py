"""The JSON Schema of the contract states what the validators check: for every character up
to U+3100 (controls, white space of every kind, `|`, letters), an id or a text is taken by
the model exactly when the document's pattern allows it, so a client that follows the
document is never refused for a reason the document does not state."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from parklink.eventkit.contracts import (
    IDENT_JSON_PATTERN,
    IN_YEARS_JSON_PATTERN,
    PRINTABLE_JSON_PATTERN,
    Day,
    Ident,
    Text,
)


def taken(adapter: TypeAdapter[object], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(
    ("kind", "pattern"), [(Ident, IDENT_JSON_PATTERN), (Text, PRINTABLE_JSON_PATTERN)]
)
def test_the_pattern_allows_exactly_the_characters_the_model_takes(kind: Any, pattern: str) -> None:
    adapter: TypeAdapter[object] = TypeAdapter(kind)
    differ = [
        hex(code)
        for code in range(0x3100)
        if taken(adapter, f"A{chr(code)}B") != bool(re.fullmatch(pattern, f"A{chr(code)}B"))
    ]
    assert differ == []


def test_dates_outside_the_contract_years_are_outside_the_pattern() -> None:
    adapter: TypeAdapter[object] = TypeAdapter(Day)
    for text in ("1999-12-31", "2000-01-01", "2099-12-31", "2100-01-01"):
        assert taken(adapter, text) == bool(re.match(IN_YEARS_JSON_PATTERN, text)), text
