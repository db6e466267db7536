"""`docker compose config` (compose v2) accepts deploy/compose/compose.yaml with its secrets and
refuses it without them; the resolved file starts things in the order docs/deploy.md gives,
with a /readyz healthcheck on every ParkLink service, a volume per broker and SASL_SSL clients."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from deploy.checkers import DEPLOY, run, tool

COMPOSE = DEPLOY / "compose" / "compose.yaml"
PASSWORDS = (
    "POSTGRES",
    "GRAFANA_ADMIN",
    "GATEWAY_KAFKA",
    "DETECTOR_KAFKA",
    "CONSOLE_KAFKA",
    "REGISTRY_KAFKA",
    "TOPICS_KAFKA",
)
SERVICES = ("registry", "gateway", "detector", "console")
METRICS_TOKEN = "test-metrics-token"
BROKERS = ("kafka-1", "kafka-2", "kafka-3")


def compose_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """No ambient compose settings; DOCKER_CONFIG in the test's own directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DOCKER_"))}
    return {**env, "DOCKER_CONFIG": str(tmp_path / "docker"), **extra}


@pytest.fixture
def resolved(tmp_path: Path) -> dict[str, Any]:
    env = compose_env(
        tmp_path,
        METRICS_TOKEN=METRICS_TOKEN,
        **{f"{p}_PASSWORD": f"test-{p.lower()}" for p in PASSWORDS},
    )
    result = run(
        tool("docker-compose"),
        "-f",
        COMPOSE,
        "config",
        "--no-path-resolution",
        "--format",
        "json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_compose_refuses_to_start_without_the_secrets(tmp_path: Path) -> None:
    result = run(
        tool("docker-compose"), "-f", COMPOSE, "config", "--quiet", env=compose_env(tmp_path)
    )
    assert result.returncode != 0
    assert "run deploy/compose/secrets.sh" in result.stderr


def test_every_parklink_service_is_checked_on_readyz(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in SERVICES:
        check = " ".join(services[name]["healthcheck"]["test"])
        assert "/readyz" in check, name
        assert services[name]["read_only"] is True, name
    for name in (*BROKERS, "postgres", "prometheus"):
        assert services[name]["healthcheck"]["test"], name


def test_brokers_keep_their_data_and_speak_sasl_ssl(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    volumes = set()
    for name in BROKERS:
        (mount,) = services[name]["volumes"]
        assert mount["type"] == "volume" and mount["target"] == "/var/lib/kafka/data"
        volumes.add(mount["source"])
        env = services[name]["environment"]
        assert "CLIENTS:SASL_SSL" in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        assert "PLAINTEXT" not in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"]
        assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert len(volumes) == 3
    for name in SERVICES:
        env = services[name]["environment"]
        assert env["PARKLINK_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["PARKLINK_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["PARKLINK_KAFKA_USER"] == name
        assert env["PARKLINK_KAFKA_PASSWORD"] == f"test-{name}_kafka"


def test_metrics_ask_for_the_token_and_the_detector_port_stays_inside(
    resolved: dict[str, Any], tmp_path: Path
) -> None:
    services = resolved["services"]
    for name in SERVICES:
        assert services[name]["environment"]["PARKLINK_METRICS_TOKEN"] == METRICS_TOKEN, name
    assert not services["detector"].get("ports"), "the detector's web is not published"
    for name in ("registry", "gateway", "console", "prometheus", "grafana"):
        for port in services[name].get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)
    (secret,) = services["prometheus"]["secrets"]
    assert secret["source"] == "metrics_token"
    assert resolved["secrets"]["metrics_token"]["file"].endswith("secrets/metrics.token")
    # Without the token compose refuses to start at all.
    env = compose_env(tmp_path, **{f"{p}_PASSWORD": "x" for p in PASSWORDS})
    result = run(tool("docker-compose"), "-f", COMPOSE, "config", "--quiet", env=env)
    assert result.returncode != 0 and "METRICS_TOKEN" in result.stderr


def test_start_order_waits_for_the_whole_cluster(resolved: dict[str, Any]) -> None:
    services = resolved["services"]

    def waits_for(name: str) -> dict[str, str]:
        return {dep: v["condition"] for dep, v in services[name].get("depends_on", {}).items()}

    assert waits_for("kafka-setup") == dict.fromkeys(BROKERS, "service_healthy")
    assert services["kafka-setup"]["environment"]["EXPECTED_BROKERS"] == "3"
    assert waits_for("topics") == {"kafka-setup": "service_completed_successfully"}
    assert waits_for("registry") == {"topics": "service_completed_successfully"}
    assert waits_for("schemas") == {"registry": "service_healthy"}
    for name in ("gateway", "detector", "console"):
        assert waits_for(name) == {
            "schemas": "service_completed_successfully",
            "postgres": "service_healthy",
        }, name


def test_the_console_and_tokens_use_postgresql(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in ("gateway", "console"):
        url = services[name]["environment"]["PARKLINK_DATABASE_URL"]
        assert url.startswith("postgresql://parklink:test-postgres@postgres:5432/"), name
        assert not services[name].get("volumes"), f"{name} shares no volume"
    for name in ("registry", "detector"):
        assert "PARKLINK_DATABASE_URL" not in services[name]["environment"], name


def test_compose_config_rejects_a_misspelt_key(tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace("    stop_grace_period: 60s", "    stop_grace: 60s")
    )
    env = compose_env(tmp_path, METRICS_TOKEN="x", **{f"{p}_PASSWORD": "x" for p in PASSWORDS})
    result = run(tool("docker-compose"), "-f", broken, "config", "--quiet", env=env)
    assert result.returncode != 0
    assert "stop_grace" in result.stderr, result.stderr
