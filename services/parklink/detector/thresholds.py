"""The thresholds of the disruption rules (delay hours, capacity ratios, congestion counts,
silence seconds; the rule table is in docs/architecture.md) in one validated config:
defaults, then an optional TOML file (PARKLINK_DETECTOR_CONFIG), then `PARKLINK_*`
environment variables, which win."""

from __future__ import annotations

import os
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from parklink.eventkit.clock import MAX_SPEED, ScaledClock
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import ENV_PREFIX

CONFIG_ENV = ENV_PREFIX + "DETECTOR_CONFIG"


class Thresholds(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    delay_warning_hours: float = Field(24.0, gt=0, description="SHIPMENT_DELAY fires above it.")
    delay_critical_hours: float = Field(72.0, gt=0, description="SHIPMENT_DELAY CRITICAL above.")
    shortfall_no_maximum_factor: float = Field(
        1.2, gt=1, description="CRITICAL above factor x actual when no maximum is declared."
    )
    drop_warning_ratio: float = Field(
        0.7, gt=0, le=1, description="CAPACITY_DROP below ratio x previous; resolves at or above."
    )
    drop_critical_ratio: float = Field(0.4, gt=0, le=1, description="CAPACITY_DROP CRITICAL.")
    congestion_warning_shipments: int = Field(3, ge=1, description="delayed shipments: WARNING")
    congestion_critical_shipments: int = Field(5, ge=1, description="delayed shipments: CRITICAL")
    silent_warning_seconds: float = Field(6 * 3600.0, gt=0, description="PARK_SILENT WARNING.")
    silent_critical_seconds: float = Field(24 * 3600.0, gt=0, description="PARK_SILENT CRITICAL.")
    silent_check_seconds: float = Field(
        60.0, gt=0, description="How often the detector looks for silent parks."
    )
    closed_retention_days: float = Field(
        35.0,
        gt=0,
        description="Closed orders and shipments, calm corridor shipments and resolved alerts "
        "leave the tables this long after they closed (never sooner than the event-time "
        "horizon plus the skew allow a late event).",
    )
    week_retention_days: float = Field(
        35.0, gt=0, description="A category-week leaves the tables this long after it ended."
    )
    idle_retention_days: float = Field(
        90.0,
        gt=0,
        description="Open orders and shipments that had no update this long leave the tables "
        "too (an alert a shipment holds resolves, saying why); never sooner than the "
        "event-time horizon plus the skew allow a late event.",
    )
    sweep_seconds: float = Field(
        3600.0, gt=0, description="How often (broker time) a stage looks for entries to drop."
    )
    alert_list_limit: int = Field(
        50,
        ge=1,
        le=1000,
        description="Most parks, orders, shipments and evidence ids an alert lists (each list; "
        "the rest are counted in its metrics and summary).",
    )

    detector_time_speed: float = Field(
        1.0,
        gt=0,
        le=MAX_SPEED,
        description="For benchmarks and tests only: detector seconds per wall second "
        "(eventkit/clock.py); 1 is the real time.",
    )
    detector_time_origin: datetime | None = Field(
        None,
        description="For benchmarks and tests only: the wall moment (ISO 8601 with a zone) "
        "from which the detector's time runs at PARKLINK_DETECTOR_TIME_SPEED.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        pairs = (
            ("delay_warning_hours", "delay_critical_hours", "below"),
            ("drop_critical_ratio", "drop_warning_ratio", "below"),
            ("congestion_warning_shipments", "congestion_critical_shipments", "at or below"),
            ("silent_warning_seconds", "silent_critical_seconds", "below"),
        )
        for low, high, how in pairs:
            a, b = getattr(self, low), getattr(self, high)
            if a > b or (how == "below" and a == b):
                raise ValueError(
                    f"{ENV_PREFIX}{low.upper()} ({a}) must be {how} "
                    f"{ENV_PREFIX}{high.upper()} ({b})"
                )
        if self.detector_time_speed != 1 and self.detector_time_origin is None:
            raise ValueError(
                f"{ENV_PREFIX}DETECTOR_TIME_SPEED other than 1 needs "
                f"{ENV_PREFIX}DETECTOR_TIME_ORIGIN (the same for every worker and restart)"
            )
        if self.detector_time_origin is not None and self.detector_time_origin.tzinfo is None:
            raise ValueError(f"{ENV_PREFIX}DETECTOR_TIME_ORIGIN needs a time zone")
        return self

    def clock(self) -> ScaledClock:
        """The detector's time (identity unless sped up for a benchmark or a test)."""
        return ScaledClock.sped_up(self.detector_time_speed, self.detector_time_origin)

    @property
    def heartbeat_seconds(self) -> float:
        """How often a park's activity needs to be passed on: fine enough for the silence
        thresholds, coarse enough not to follow every event."""
        return min(60.0, self.silent_warning_seconds / 10)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Init values come from the TOML file: the environment overrides them.
        return env_settings, init_settings


def _read_file(path: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ParkLinkError(f"detector config {path} does not exist ({CONFIG_ENV})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ParkLinkError(f"detector config {path}: not valid TOML: {exc}") from exc
    # Accept the thresholds at the top level or under a [thresholds] table.
    table = doc.get("thresholds", doc)
    if not isinstance(table, dict):
        raise ParkLinkError(f"detector config {path}: [thresholds] must be a table")
    return table


def load_thresholds(path: Path | None = None) -> Thresholds:
    """Thresholds from defaults, the TOML file and the environment; one clear line if bad."""
    if path is None and os.environ.get(CONFIG_ENV):
        path = Path(os.environ[CONFIG_ENV])
    values = _read_file(path) if path is not None else {}
    where = f" in {path} or the environment" if path is not None else ""
    try:
        return Thresholds(**values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = str(err["msg"]).removeprefix("Value error, ")
            if err["loc"]:
                field = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
                problems.append(f"{field}: {msg} (got {err.get('input')!r})")
            else:
                problems.append(msg)
        raise ParkLinkError(
            "invalid detector threshold" + where + ": " + "; ".join(problems)
        ) from exc
