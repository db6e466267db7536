"""The worker's start: its garbage collector settings (see `main.tune_gc`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

from parklink.detector.config import DetectorSettings
from parklink.detector.main import tune_gc


@pytest.fixture
def collector() -> Iterator[None]:
    """Python's own settings back after the test, whatever it changed."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.mark.usefixtures("collector")
def test_tune_gc_freezes_what_exists_and_collects_the_young_every_threshold_allocations() -> None:
    gc.unfreeze()
    made_at_start: list[list[int]] = [[]]
    assert any(o is made_at_start for o in gc.get_objects())
    tune_gc(12_345)
    assert gc.get_threshold() == (12_345, 10, 10)
    assert gc.get_freeze_count() > 0
    assert not any(o is made_at_start for o in gc.get_objects())  # out of every collection


def test_the_threshold_defaults_to_50000_and_refuses_silly_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert DetectorSettings().detector_gc_threshold == 50_000
    for bad in ("0", "-1", "99", "abc"):
        monkeypatch.setenv("PARKLINK_DETECTOR_GC_THRESHOLD", bad)
        with pytest.raises(ValidationError, match="detector_gc_threshold"):
            DetectorSettings()
    monkeypatch.setenv("PARKLINK_DETECTOR_GC_THRESHOLD", "700")
    assert DetectorSettings().detector_gc_threshold == 700
