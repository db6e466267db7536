"""Property-based requests generated from /openapi.json, with every schemathesis check: the
gateway never fails (5xx), answers only the statuses, headers and bodies its document
describes, refuses what the schema forbids and takes what it allows."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from integration.gateway.conftest import RunningGateway
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import ChecksConfig, PositiveDataAcceptanceConfig
from schemathesis.config._checks import POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES

pytestmark = pytest.mark.broker

# A schema-valid event can still be refused for what no JSON Schema can state: its event_time
# against the gateway's clock (422), besides what schemathesis allows by default (403 for the
# party rules between its parks and the token, 401 for a missing token, 429, ...).
ACCEPTED_WHEN_VALID = [*POSITIVE_DATA_ACCEPTANCE_EXPECTED_STATUSES, "422"]


def test_generated_requests_pass_every_check(gateway: RunningGateway) -> None:
    load_all_checks()
    schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
    schema.config.checks = ChecksConfig(
        positive_data_acceptance=PositiveDataAcceptanceConfig(expected_statuses=ACCEPTED_WHEN_VALID)
    )
    checks = [c for c in CHECKS.get_all() if not isinstance(c, type)]
    assert len(checks) >= 14  # every check schemathesis has, not_a_server_error among them
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
                    case.call_and_validate(base_url=gateway.url, headers=headers, checks=checks)
                except AssertionError as exc:
                    failures.append(f"{case.method} {case.path}: {exc}")
                    raise

        check()
    assert failures == []
