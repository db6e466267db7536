"""Settings of the detector service (PARKLINK_ prefix); rule thresholds are in thresholds.py."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from parklink.eventkit.settings import Settings


class DetectorSettings(Settings):
    detector_group: str = Field(
        "parklink-detector",
        pattern=r"^[A-Za-z0-9._-]+$",
        max_length=100,
        description="faust app id and Kafka consumer group; workers in one group share work.",
    )
    detector_host: str = Field("127.0.0.1", description="Bind address of /metrics and health.")
    detector_port: int = Field(6066, ge=1, le=65535)
    detector_config: Path | None = Field(None, description="TOML file with rule thresholds.")
    detector_partitions: int = Field(
        6, ge=1, le=1000, description="Partitions of the detector's own repartition topics."
    )
    detector_replication: int = Field(
        1, ge=1, le=5, description="Replication of the detector's own topics (3 in production)."
    )
    detector_commit_seconds: float = Field(1.0, gt=0, le=60)
    detector_fetch_records: int = Field(
        2000,
        ge=1,
        le=100_000,
        description="Most records one fetch hands to the stages: each stage takes a "
        "fetch's records as one batch (fewer messages between stages per record), and the "
        "next fetch, with the conclusions of this one, waits for it.",
    )
    detector_gc_threshold: int = Field(
        50_000,
        ge=100,
        le=10_000_000,
        description="Allocations between two collections of Python's youngest garbage "
        "generation (Python's default is 700): the worker allocates a few objects per "
        "record and keeps its tables in memory, and at 700 the collector took about a "
        "third of its CPU (see docs/detector.md).",
    )
    detector_session_timeout_seconds: float = Field(
        30.0, ge=6, le=300, description="How soon the group notices a worker that died."
    )

    @property
    def data_dir(self) -> Path:
        return self.state_dir / "detector" / self.detector_group
