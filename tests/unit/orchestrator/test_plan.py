from __future__ import annotations

from pathlib import Path

from parklink.orchestrator.config import OrchestratorSettings
from parklink.orchestrator.plan import plan


def settings(**kw: object) -> OrchestratorSettings:
    return OrchestratorSettings(**kw)  # type: ignore[arg-type]


def test_parts_start_in_order_with_their_ports_and_shared_env() -> None:
    parts = plan(settings(gateway_port=18000), Path("/s"), "127.0.0.1:19092", {})
    assert [p.name for p in parts] == [
        "registry",
        "gateway",
        "relay",
        "detector",
        "console",
        "simulator",
    ]
    gateway = parts[1]
    assert gateway.module == "parklink.gateway"
    assert gateway.ready_url == "http://127.0.0.1:18000/readyz"
    assert gateway.env["PARKLINK_KAFKA_BOOTSTRAP"] == "127.0.0.1:19092"
    assert gateway.env["PARKLINK_STATE_DIR"] == "/s"
    assert parts[-1].env["PARKLINK_GATEWAY_URL"] == "http://127.0.0.1:18000"
    no_sim = plan(settings(), Path("/s"), "b:1", {}, simulator=False)
    assert "simulator" not in [p.name for p in no_sim]


def test_demo_shortcuts_never_override_what_the_user_set() -> None:
    env = plan(settings(demo_silent_s=30), Path("/s"), "b:1", {})[0].env
    assert env["PARKLINK_SILENT_WARNING_SECONDS"] == "30"
    assert float(env["PARKLINK_SILENT_CRITICAL_SECONDS"]) > 30
    assert float(env["PARKLINK_SIMULATOR_OFFLINE_S"]) > 30  # the silence outlasts the threshold
    user = {"PARKLINK_SILENT_WARNING_SECONDS": "7200", "PARKLINK_SIMULATOR_SCENARIOS": "x"}
    env = plan(settings(), Path("/s"), "b:1", user)[0].env
    assert "PARKLINK_SILENT_WARNING_SECONDS" not in env
    assert "PARKLINK_SIMULATOR_SCENARIOS" not in env


def test_the_gateway_is_given_its_graceful_shutdown_before_it_is_killed() -> None:
    parts = {p.name: p for p in plan(settings(gateway_graceful_s=45), Path("/s"), "b:1", {})}
    gateway = parts["gateway"]
    assert gateway.stop_timeout_s > 45 + 10  # its requests in flight, then its producer's flush
    assert parts["console"].stop_timeout_s == settings().up_stop_timeout_s


def test_each_kafka_client_logs_in_as_itself() -> None:
    parts = {p.name: p for p in plan(settings(), Path("/s"), "b:1", {})}
    for name in ("registry", "gateway", "relay", "detector", "console"):
        assert parts[name].env["PARKLINK_KAFKA_USER"] == name
    assert "PARKLINK_KAFKA_USER" not in parts["simulator"].env  # it publishes through the gateway
