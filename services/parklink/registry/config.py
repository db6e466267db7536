"""Settings of the schema registry service."""

from __future__ import annotations

from pydantic import Field

from parklink.eventkit.settings import Settings
from parklink.registry.compatibility import DEFAULT_LEVEL, Level


class RegistrySettings(Settings):
    registry_host: str = Field("127.0.0.1", min_length=1, description="Address to bind.")
    registry_port: int = Field(8081, ge=1, le=65535)
    registry_topic: str = Field(
        "_schemas", pattern=r"^[A-Za-z0-9._-]+$", max_length=200, description="Compacted store."
    )
    registry_max_schema_bytes: int = Field(
        256 * 1024, ge=1024, le=16 * 1024 * 1024, description="Largest schema accepted."
    )
    registry_default_compatibility: Level = DEFAULT_LEVEL
    registry_write_timeout_s: float = Field(
        15.0, gt=0, description="How long a write may take to be acknowledged and read back."
    )
    registry_replication_factor: int = Field(
        3, ge=1, le=5, description="For the store topic when created; capped at the broker count."
    )
    registry_anonymous_read: bool = Field(
        True, description="Whether callers without credentials may read (never write)."
    )
