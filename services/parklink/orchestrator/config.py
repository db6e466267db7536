"""Settings of `parklink up` (the same PARKLINK_*_PORT variables the services read)."""

from __future__ import annotations

from pydantic import Field

from parklink.eventkit.settings import Settings
from parklink.simulator.scenarios import DEMO_MIX


class OrchestratorSettings(Settings):
    kafka_base_port: int = Field(9092, ge=1024, le=65000)
    registry_port: int = Field(8081, ge=1, le=65535)
    gateway_port: int = Field(8000, ge=1, le=65535)
    detector_port: int = Field(6066, ge=1, le=65535)
    console_port: int = Field(8088, ge=1, le=65535)
    simulator_port: int = Field(6068, ge=1, le=65535)
    relay_port: int = Field(6070, ge=1, le=65535)
    up_ready_timeout_s: float = Field(
        120.0, gt=0, description="How long each part may take to become ready."
    )
    up_stop_timeout_s: float = Field(
        20.0, gt=0, description="How long each part may take to stop before it is killed."
    )
    gateway_graceful_s: float = Field(
        30.0,
        ge=1,
        le=600,
        description="The gateway's graceful shutdown (its PARKLINK_GATEWAY_GRACEFUL_S): the "
        "gateway is given that long, and its producer's flush, before it is killed.",
    )
    gateway_produce_timeout_s: float = Field(10.0, ge=2, le=300)
    demo_scenarios: str = Field(
        " ".join(DEMO_MIX), description="Scenarios the demo's simulator injects."
    )
    demo_silent_s: float = Field(
        45.0,
        gt=0,
        description="The demo detector's PARK_SILENT threshold (production default: 6 h), "
        "unless PARKLINK_SILENT_WARNING_SECONDS is set.",
    )
