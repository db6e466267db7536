"""Settings of the schema registry service."""

from __future__ import annotations

from pydantic import Field

from parklink.eventkit.settings import Settings
from parklink.registry.compatibility import DEFAULT_LEVEL, Level
from parklink.registry.store import SEND_BLOCK_S, STORE_CLOSE_S


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
    registry_graceful_s: float = Field(
        10.0,
        ge=1,
        le=600,
        description="How long requests in flight may take to finish when the registry stops.",
    )

    def shutdown_bound_s(self) -> float:
        """How long the registry may take to exit after SIGTERM, Kafka reachable or not:
        requests in flight get `registry_graceful_s`; a write that holds the store by then
        ends within the producer's blocking bound and its write timeout (writes still waiting
        are refused), and closing the store takes at most STORE_CLOSE_S."""
        return (
            self.registry_graceful_s + SEND_BLOCK_S + self.registry_write_timeout_s + STORE_CLOSE_S
        )
