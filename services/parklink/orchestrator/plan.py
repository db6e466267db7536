"""What `parklink up` starts, in which order, with which environment: pure, from settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from parklink.orchestrator.config import OrchestratorSettings

ORDER = ("registry", "gateway", "relay", "detector", "console", "simulator")
KAFKA_PRINCIPALS = frozenset({"registry", "gateway", "relay", "detector", "console"})
"""Parts that log in to Kafka as themselves, with only their own ACLs (docs/security.md)."""


@dataclass(frozen=True)
class Part:
    name: str
    module: str
    port: int
    port_setting: str
    env: dict[str, str] = field(default_factory=dict)
    stop_timeout_s: float = 20.0
    """How long it may take to stop after SIGTERM before it is killed."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ready_url(self) -> str:
        return f"{self.url}/readyz"


def demo_env(settings: OrchestratorSettings, environ: Mapping[str, str]) -> dict[str, str]:
    """The demo's shortcuts, each only when the user has not set the variable."""
    wanted = {
        "PARKLINK_SILENT_WARNING_SECONDS": f"{settings.demo_silent_s:g}",
        "PARKLINK_SILENT_CRITICAL_SECONDS": f"{max(600.0, 10 * settings.demo_silent_s):g}",
        "PARKLINK_SILENT_CHECK_SECONDS": f"{max(1.0, settings.demo_silent_s / 9):g}",
        "PARKLINK_SIMULATOR_SCENARIOS": settings.demo_scenarios,
        "PARKLINK_SIMULATOR_OFFLINE_S": f"{max(180.0, 3 * settings.demo_silent_s):g}",
    }
    return {k: v for k, v in wanted.items() if k not in environ}


def plan(
    settings: OrchestratorSettings,
    state_dir: Path,
    bootstrap: str,
    environ: Mapping[str, str],
    simulator: bool = True,
) -> list[Part]:
    ports = {
        "registry": settings.registry_port,
        "gateway": settings.gateway_port,
        "detector": settings.detector_port,
        "console": settings.console_port,
        "simulator": settings.simulator_port,
        "relay": settings.relay_port,
    }
    shared = {
        "PARKLINK_STATE_DIR": str(state_dir),
        "PARKLINK_KAFKA_BOOTSTRAP": bootstrap,
        "PARKLINK_REGISTRY_URL": f"http://127.0.0.1:{settings.registry_port}",
        "PARKLINK_GATEWAY_URL": f"http://127.0.0.1:{settings.gateway_port}",
        **{f"PARKLINK_{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **demo_env(settings, environ),
    }
    names = ORDER if simulator else ORDER[:-1]
    # The gateway finishes the requests in flight, then flushes its producer.
    gateway_stop = settings.gateway_graceful_s + settings.gateway_produce_timeout_s + 10
    return [
        Part(
            name,
            f"parklink.{name}",
            ports[name],
            f"PARKLINK_{name.upper()}_PORT",
            {**shared, "PARKLINK_KAFKA_USER": name} if name in KAFKA_PRINCIPALS else shared,
            max(settings.up_stop_timeout_s, gateway_stop if name == "gateway" else 0.0),
        )
        for name in names
    ]
