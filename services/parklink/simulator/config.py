"""Settings of the simulator (PARKLINK_SIMULATOR_*, PARKLINK_GATEWAY_URL, plus the shared ones);
`parklink simulate` flags override them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import Field

from parklink.eventkit.settings import Settings


class SimulatorSettings(Settings):
    gateway_url: str = Field("http://127.0.0.1:8000", pattern=r"^https?://")
    simulator_host: str = Field("127.0.0.1", min_length=1)
    simulator_port: int = Field(
        6068, ge=0, le=65535, description="Status, metrics and on-demand scenarios; 0 = none."
    )
    simulator_rate: float = Field(20.0, gt=0, le=1_000_000, description="Events per second.")
    simulator_speed: float = Field(
        600.0, gt=0, description="Simulated seconds per wall-clock second."
    )
    simulator_seed: int | None = Field(None, description="Same seed, same world; default random.")
    simulator_scenarios: str = Field(
        "", description="Space- or comma-separated NAME[@START[/EVERY]] (seconds)."
    )
    simulator_offline_s: float = Field(
        180.0, gt=0, description="How long `park-offline` keeps a park silent (wall clock)."
    )
    simulator_direct: bool = Field(False, description="Publish with the SDK, not the gateway.")
    simulator_time_origin: datetime | None = Field(
        None,
        description="For benchmarks and tests (with --direct): the simulated clock runs at "
        "the speed from this wall moment on, and events carry the simulated time, as a "
        "detector with PARKLINK_DETECTOR_TIME_ORIGIN and _SPEED set the same way expects.",
    )
    simulator_tokens_file: Path | None = Field(
        None, description="JSON of park tokens; default <state dir>/demo-tokens.json."
    )
    simulator_max_batch: int = Field(500, ge=1, le=10_000)
    simulator_drain_s: float = Field(
        15.0, ge=0, le=600, description="On stop, how long queued events may take to be sent."
    )
    simulator_lag_warn_s: float = Field(
        3.0, gt=0, description="Say 'cannot keep up' when events wait longer than this."
    )
    simulator_report_s: float = Field(
        10.0, gt=0, description="How often the log says the rate achieved (seconds)."
    )
    simulator_max_events: int | None = Field(
        None, ge=1, description="Generate this many events, stop once all are published."
    )
    simulator_record: Path | None = Field(
        None, description="Append each acknowledged event to this JSON-lines file."
    )

    @property
    def tokens_file(self) -> Path:
        return self.simulator_tokens_file or self.state_dir / "demo-tokens.json"

    def scenario_texts(self) -> list[str]:
        return [s for s in self.simulator_scenarios.replace(",", " ").split() if s]
