"""`/metrics` needs the metrics token once one is set (as a variable or a 0600 file);
`/healthz` and `/readyz` stay open for probes that carry no token."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.metrics import new_registry
from parklink.eventkit.settings import Settings, load_settings
from parklink.eventkit.web import install_error_handlers, metrics_allowed, ops_router

TOKEN = "scrape-me-4f1c"


async def _ready() -> dict[str, str]:
    return {}


def _client(token: SecretStr | None) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(ops_router(new_registry("metrics-token-test"), _ready, token))
    return TestClient(app)


def test_metrics_need_the_token_once_it_is_set() -> None:
    client = _client(SecretStr(TOKEN))
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": f"Bearer {TOKEN}x"},
    ):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json()["error"]["code"] == "unauthorized"
        assert TOKEN not in refused.text
        assert refused.headers["www-authenticate"] == "Bearer"
    shown = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert shown.status_code == 200
    assert shown.headers["content-type"].startswith("text/plain")
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


def test_without_a_token_metrics_are_open() -> None:
    assert _client(None).get("/metrics").status_code == 200
    assert metrics_allowed(None, None)
    assert not metrics_allowed(SecretStr(TOKEN), None)


def test_the_token_comes_from_the_variable_or_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PARKLINK_METRICS_TOKEN", raising=False)
    assert load_settings(Settings).metrics_secret() is None
    monkeypatch.setenv("PARKLINK_METRICS_TOKEN", TOKEN)
    secret = load_settings(Settings).metrics_secret()
    assert secret is not None and secret.get_secret_value() == TOKEN
    assert TOKEN not in repr(load_settings(Settings))

    monkeypatch.delenv("PARKLINK_METRICS_TOKEN")
    path = tmp_path / "metrics.token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o644)
    monkeypatch.setenv("PARKLINK_METRICS_TOKEN_FILE", str(path))
    with pytest.raises(ParkLinkError, match="readable by others"):
        load_settings(Settings).metrics_secret()
    path.chmod(0o600)
    from_file = load_settings(Settings).metrics_secret()
    assert from_file is not None and from_file.get_secret_value() == TOKEN
