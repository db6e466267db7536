"""Threshold config: defaults, TOML file, environment overrides, one clear line when bad."""

from __future__ import annotations

from pathlib import Path

import pytest

from parklink.detector.thresholds import load_thresholds
from parklink.eventkit.errors import ParkLinkError


def test_defaults_are_design_section_5(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PARKLINK_DETECTOR_CONFIG", raising=False)
    t = load_thresholds()
    assert (t.delay_warning_hours, t.delay_critical_hours) == (24, 72)
    assert (t.drop_warning_ratio, t.drop_critical_ratio) == (0.7, 0.4)
    assert (t.congestion_warning_shipments, t.congestion_critical_shipments) == (3, 5)
    assert (t.silent_warning_seconds, t.silent_critical_seconds) == (6 * 3600, 24 * 3600)
    assert t.shortfall_no_maximum_factor == 1.2


def test_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "detector.toml"
    path.write_text("[thresholds]\ndelay_warning_hours = 12\ndelay_critical_hours = 48\n")
    monkeypatch.setenv("PARKLINK_DELAY_CRITICAL_HOURS", "36")
    monkeypatch.setenv("PARKLINK_KAFKA_BOOTSTRAP", "127.0.0.1:1")  # other settings are ignored
    t = load_thresholds(path)
    assert (t.delay_warning_hours, t.delay_critical_hours) == (12, 36)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PARKLINK_DELAY_WARNING_HOURS": "-1"}, "PARKLINK_DELAY_WARNING_HOURS"),
        ({"PARKLINK_DELAY_WARNING_HOURS": "80"}, "must be below PARKLINK_DELAY_CRITICAL_HOURS"),
        ({"PARKLINK_DROP_CRITICAL_RATIO": "0.9"}, "PARKLINK_DROP_CRITICAL_RATIO (0.9) must be"),
        ({"PARKLINK_CONGESTION_WARNING_SHIPMENTS": "x"}, "PARKLINK_CONGESTION_WARNING_SHIPMENTS"),
    ],
)
def test_a_bad_value_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ParkLinkError) as err:
        load_thresholds()
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unknown_keys_in_the_file_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "detector.toml"
    path.write_text("delay_warnin_hours = 12\n")
    with pytest.raises(ParkLinkError, match="DELAY_WARNIN_HOURS"):
        load_thresholds(path)
