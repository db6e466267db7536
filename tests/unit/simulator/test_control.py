"""The simulator's control endpoint injects a scenario only for an alliance operator's
token from the shared token store: no token, a cross-site form POST, a park's, a park
operator's, a viewer's, a revoked or an expired token change nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from parklink.eventkit.contracts import ParkEvent
from parklink.eventkit.metrics import new_registry
from parklink.eventkit.tokens import Role, TokenStore
from parklink.simulator.app import create_web
from parklink.simulator.runner import Runner
from parklink.simulator.scenarios import ScenarioOptions
from parklink.simulator.world import World, WorldConfig

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class IdleSink:
    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        raise AssertionError("nothing is published in these tests")

    async def problems(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        return None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, TokenStore, Runner]]:
    tokens = TokenStore.in_state_dir(tmp_path)
    registry = new_registry("simulator-control-test")
    world = World(WorldConfig(seed=3, start=START, speed=600.0, rate=1.0))
    runner = Runner(world, IdleSink(), rate=1.0, options=ScenarioOptions(), registry=registry)
    with TestClient(create_web(runner, IdleSink(), registry, tokens)) as client:
        yield client, tokens, runner
    tokens.close()


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_only_an_alliance_operator_injects(
    served: tuple[TestClient, TokenStore, Runner],
) -> None:
    client, tokens, runner = served
    revoked = tokens.issue(Role.OPERATOR, "gone")
    tokens.revoke(revoked.split("_")[1])
    expiring = tokens.issue(Role.OPERATOR, "brief", ttl=timedelta(seconds=1))
    refused = {
        "no token": ({}, 401),
        "not a token": (_auth("plk_nope_nope"), 401),
        "revoked": (_auth(revoked), 401),
        "park": (_auth(tokens.issue(Role.PARK, "KZ-ALA-IPA")), 403),
        "park operator": (
            _auth(tokens.issue(Role.PARK_OPERATOR, "ala", park="KZ-ALA-IPA")),
            403,
        ),
        "viewer": (_auth(tokens.issue(Role.VIEWER, "eyes")), 403),
    }
    ends = next(t.expires_at for t in tokens.list() if t.name == "brief")
    assert ends is not None
    while time.time() < ends:
        time.sleep(0.05)
    refused["expired"] = (_auth(expiring), 401)
    for who, (headers, status) in refused.items():
        answer = client.post("/v1/scenarios/border-jam", headers=headers)
        assert answer.status_code == status, who
        assert answer.json()["error"]["code"] in ("unauthorized", "forbidden"), who
    assert runner.world.injections == []

    operator = _auth(tokens.issue(Role.OPERATOR, "desk"))
    answer = client.post("/v1/scenarios/border-jam", headers=operator)
    assert answer.status_code == 201
    assert answer.json()["scenario"] == "border-jam"
    assert [i.scenario for i in runner.world.injections] == ["border-jam"]
    unknown = client.post("/v1/scenarios/meteor", headers=operator)
    assert unknown.status_code == 404
    assert "border-jam" in unknown.json()["error"]["details"]


def test_a_cross_site_form_post_is_refused(
    served: tuple[TestClient, TokenStore, Runner],
) -> None:
    """What a page of another site can send without a preflight: a form, no Authorization
    header, cookies at most. Refused; and a form body is refused even with a token."""
    client, tokens, runner = served
    for kind, body in (
        ("application/x-www-form-urlencoded", "x=1"),
        ("multipart/form-data; boundary=b", "--b--"),
        ("text/plain", "x"),
    ):
        plain = client.post(
            "/v1/scenarios/border-jam",
            content=body,
            headers={"Content-Type": kind, "Origin": "https://elsewhere.test"},
        )
        assert plain.status_code == 401, kind
        assert plain.headers["www-authenticate"] == "Bearer"
        token = tokens.issue(Role.OPERATOR, "desk")
        with_token = client.post(
            "/v1/scenarios/border-jam", content=body, headers={"Content-Type": kind, **_auth(token)}
        )
        assert with_token.status_code == 415, kind
    assert runner.world.injections == []
    assert "access-control-allow-origin" not in plain.headers


def test_status_stays_readable_without_a_token(
    served: tuple[TestClient, TokenStore, Runner],
) -> None:
    client, _, _ = served
    assert client.get("/v1/status").status_code == 200
    assert client.get("/healthz").status_code == 200
