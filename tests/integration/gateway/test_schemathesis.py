"""Property-based requests generated from /openapi.json never make the gateway fail (5xx)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from integration.gateway.conftest import RunningGateway
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.broker


def test_no_generated_request_gets_a_server_error(gateway: RunningGateway) -> None:
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    failures: list[str] = []
    for operation in schema.get_all_operations():
        op = operation.ok()  # type: ignore[union-attr]

        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=op.as_strategy())
        def check(case: schemathesis.Case[Any]) -> None:
            for token in (gateway.token, None):
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                try:
                    case.call_and_validate(
                        base_url=gateway.url, headers=headers, checks=[not_a_server_error]
                    )
                except AssertionError as exc:
                    failures.append(f"{case.method} {case.path}: {exc}")
                    raise

        check()
    assert failures == []
