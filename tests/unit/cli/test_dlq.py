"""The pure parts of `parklink dlq`: --since and the selection of dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parklink.cli.dlq import DeadLetter, chosen, parse_since
from parklink.eventkit.errors import ParkLinkError

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def test_since_takes_ages_and_instants() -> None:
    assert parse_since("30m", NOW) == datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    assert parse_since("2d", NOW) == datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    assert parse_since("2026-12-01T08:00", NOW) == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert parse_since("2026-12-01T08:00+05:00", NOW) == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    with pytest.raises(ParkLinkError, match="ISO 8601"):
        parse_since("last week", NOW)


def _letter(offset: int, reason: str, at: datetime) -> DeadLetter:
    return DeadLetter(
        offset, int(at.timestamp() * 1000), b"k", b"v", "alliance.orders.v1", 0, offset, reason, ""
    )


def test_selection_by_reason_and_time() -> None:
    letters = [
        _letter(0, "invalid-event", datetime(2026, 12, 1, 9, tzinfo=UTC)),
        _letter(1, "unknown-schema-id", datetime(2026, 12, 1, 10, tzinfo=UTC)),
        _letter(2, "unknown-schema-id", datetime(2026, 12, 1, 11, tzinfo=UTC)),
    ]
    assert [d.offset for d in chosen(iter(letters), "unknown-schema-id", None)] == [1, 2]
    since = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
    assert [d.offset for d in chosen(iter(letters), None, since)] == [2]
    assert [d.offset for d in chosen(iter(letters), "invalid-event", since)] == []
