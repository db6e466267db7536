"""Settings of the local Kafka runner."""

from __future__ import annotations

from pydantic import Field

from parklink.eventkit.settings import Settings


class KafkaLocalSettings(Settings):
    kafka_base_port: int = Field(9092, ge=1024, le=65000, description="Node n listens on base+2n.")
    kafka_heap_mb: int = Field(512, ge=256, le=8192)
    kafka_start_timeout_s: float = Field(180.0, gt=0, description="How long nodes may take.")
    kafka_plaintext: bool = Field(
        False,
        description="Also open an unauthenticated listener where anyone may do anything "
        "(benchmarks, legacy tools); off unless asked for.",
    )
    kafka_plaintext_base_port: int = Field(
        9192, ge=1024, le=65000, description="Node n's plain listener is on base+2n."
    )
    registry_topic: str = Field(
        "_schemas", pattern=r"^[A-Za-z0-9._-]+$", max_length=200, description="For its ACLs."
    )
    detector_group: str = Field("parklink-detector", pattern=r"^[A-Za-z0-9._-]+$")
    relay_group: str = Field("parklink-relay", pattern=r"^[A-Za-z0-9._-]+$")
    java: str = Field("java", min_length=1)
    mvn: str = Field("mvn", min_length=1)
