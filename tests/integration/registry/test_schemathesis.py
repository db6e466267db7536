"""Property-based requests generated from the registry's /openapi.json, with every
schemathesis check: the registry never fails (5xx), answers only the statuses and bodies its
document describes and takes what the document allows. Requests are sent as the writer, as a
reader and anonymously; the schemas sent are valid Avro (the document's `avro-schema` format,
taught to the generator here)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import schemathesis
from hypothesis import strategies as st
from openapi_checks import failures_of

from parklink.eventkit.registry_client import registry_credentials
from parklink.registry.openapi import AVRO_SCHEMA_FORMAT

pytestmark = pytest.mark.broker

NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,15}\Z")
PRIMITIVES = st.sampled_from(["string", "int", "long", "double", "boolean", "bytes"])


def _record(name: str, fields: list[tuple[str, str]]) -> str:
    unique = list(dict(fields).items())
    doc: dict[str, Any] = {
        "type": "record",
        "name": name,
        "fields": [{"name": f, "type": t} for f, t in unique],
    }
    return json.dumps(doc)


schemathesis.openapi.format(
    AVRO_SCHEMA_FORMAT,
    st.one_of(
        PRIMITIVES.map(json.dumps),
        st.builds(_record, NAMES, st.lists(st.tuples(NAMES, PRIMITIVES), max_size=4)),
    ),
)


def _basic(user: str) -> dict[str, str]:
    found = registry_credentials(user=user)
    assert found is not None
    name, password = found
    token = base64.b64encode(f"{name}:{password.get_secret_value()}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def test_generated_requests_pass_every_check(registry_url: str) -> None:
    auths = {"writer": _basic("writer"), "anonymous": {}}
    failures = failures_of(registry_url, auths, max_examples=20, min_operations=20)
    assert failures == [], "\n\n".join(failures)
