"""Settings of the ingress relay (`PARKLINK_RELAY_*`, plus the shared ones)."""

from __future__ import annotations

from pydantic import Field

from parklink.eventkit.settings import Settings


class RelaySettings(Settings):
    relay_host: str = Field("127.0.0.1", min_length=1, description="Bind address of ops HTTP.")
    relay_port: int = Field(6070, ge=0, le=65535)
    relay_group: str = Field(
        "parklink-relay", pattern=r"^[A-Za-z0-9._-]+$", max_length=100, description="Group id."
    )
    relay_refresh_ms: int = Field(
        5000, ge=500, le=300_000, description="How soon a newly admitted park's topics are read."
    )
