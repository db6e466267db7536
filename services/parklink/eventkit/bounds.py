"""How late or early an event may enter the network: its event_time at most a skew in the
future (clocks differ a little, never by hours) and no older than a horizon (a park that
replays last quarter's history would rewrite what everyone's alerts say). The field bounds
that do not depend on the clock (ranges, lengths, characters) are in the contract models
(`parklink.eventkit.contracts`); docs/bounds.md lists them all. No I/O: the clock is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from parklink.eventkit.contracts import ParkEvent
from parklink.eventkit.errors import MAX_DETAILS, EventRejected
from parklink.eventkit.settings import Settings

DEFAULT_SKEW = timedelta(minutes=10)
DEFAULT_HORIZON = timedelta(days=30)


@dataclass(frozen=True)
class TimeBounds:
    skew: timedelta = DEFAULT_SKEW
    horizon: timedelta = DEFAULT_HORIZON

    @classmethod
    def from_settings(cls, settings: Settings) -> TimeBounds:
        """PARKLINK_EVENT_TIME_SKEW_S and PARKLINK_EVENT_TIME_HORIZON_S."""
        return cls(
            timedelta(seconds=settings.event_time_skew_s),
            timedelta(seconds=settings.event_time_horizon_s),
        )


def event_time_problem(event_time: datetime, now: datetime, bounds: TimeBounds) -> str | None:
    """Why `event_time` may not enter the network at `now`; None when it may."""
    if event_time > now + bounds.skew:
        return (
            f"event_time {event_time.isoformat()} is more than {_span(bounds.skew)} in the "
            f"future (now {now.isoformat()})"
        )
    if event_time < now - bounds.horizon:
        return (
            f"event_time {event_time.isoformat()} is older than {_span(bounds.horizon)} "
            f"(now {now.isoformat()})"
        )
    return None


def check_event_times(events: Sequence[ParkEvent], now: datetime, bounds: TimeBounds) -> None:
    """Refuse a batch in which any event_time is out of bounds (EventRejected, each detail
    with the item's index, path `event_time` and type `event_time_out_of_bounds`)."""
    details: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        problem = event_time_problem(event.event_time, now, bounds)
        if problem is not None:
            details.append(
                {
                    "index": index,
                    "path": "event_time",
                    "message": problem,
                    "type": "event_time_out_of_bounds",
                }
            )
    if details:
        first = details[0]
        raise EventRejected(
            f"{len(details)} of {len(events)} event(s) have an event_time out of bounds; "
            f"first: [{first['index']}] {first['message']}",
            details[:MAX_DETAILS],
        )


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds >= 86_400 and seconds % 86_400 == 0:
        return f"{seconds / 86_400:g} days"
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
