"""How alerts word numbers and times."""

from __future__ import annotations

from datetime import UTC, datetime


def when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def duration(seconds: float) -> str:
    """Hours from an hour up, else minutes, else seconds (short thresholds in demos)."""
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def qty(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def listing(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
