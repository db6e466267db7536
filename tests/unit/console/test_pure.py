from datetime import timedelta

import pytest
from factories import T0, alert

from parklink.console.hub import format_sse
from parklink.console.matching import Matchers, Silence, silenced_by
from parklink.console.query import (
    Cursor,
    QueryError,
    Span,
    parse_query,
    supersedes,
    timeline,
    to_ms,
)
from parklink.console.signing import next_attempt_in, signed_headers, verify
from parklink.eventkit.contracts import AlertStatus, Severity


def test_matchers_are_anded_and_park_means_named() -> None:
    a = alert()
    assert Matchers().matches(a)
    assert Matchers(park="KZ-ALA-IPA", severity=Severity.WARNING).matches(a)
    assert not Matchers(park="KZ-ALA-IPA", severity=Severity.CRITICAL).matches(a)
    assert not Matchers(park="BY-MSK-GREATSTONE").matches(a)
    assert Matchers(corridor="QD-KHR-ALA-RAIL", type="SHIPMENT_DELAY").matches(a)
    assert not Matchers(type="PARK_SILENT").matches(a)


def test_only_active_silences_silence() -> None:
    s = Silence(
        silence_id="s1",
        matchers=Matchers(type="SHIPMENT_DELAY"),
        expires_at=T0 + timedelta(hours=1),
        comment="",
        created_by="ops",
        created_at=T0,
    )
    assert silenced_by([s], alert(), T0) is s
    assert silenced_by([s], alert(), T0 + timedelta(hours=2)) is None
    assert silenced_by([s], alert(type="PARK_SILENT", subject="KZ-ALA-IPA"), T0) is None


def test_query_parsing_rejects_bad_values() -> None:
    q = parse_query(status="firing,RESOLVED", severity="CRITICAL", since="2026-11-23T08:00:00Z")
    assert q.statuses == (AlertStatus.FIRING, AlertStatus.RESOLVED)
    assert q.since_ms == to_ms(T0)
    for kwargs in ({"status": "BURNING"}, {"since": "yesterday"}, {"since": "2026-11-23T08:00"}):
        with pytest.raises(QueryError):
            parse_query(**kwargs)  # type: ignore[arg-type]
    with pytest.raises(QueryError):
        parse_query(limit=0)
    with pytest.raises(QueryError):
        parse_query(cursor="not-a-cursor!")


def test_cursor_round_trips() -> None:
    c = Cursor(1234, "SHIPMENT_DELAY|SH-1")
    assert Cursor.decode(c.encode()) == c


def test_latest_update_wins_and_resolution_wins_a_tie() -> None:
    assert supersedes(None, 5, AlertStatus.FIRING)
    assert supersedes((5, AlertStatus.FIRING), 6, AlertStatus.FIRING)
    assert not supersedes((6, AlertStatus.FIRING), 5, AlertStatus.RESOLVED)
    assert supersedes((5, AlertStatus.FIRING), 5, AlertStatus.RESOLVED)
    assert not supersedes((5, AlertStatus.RESOLVED), 5, AlertStatus.FIRING)


def test_timeline_counts_alerts_firing_in_each_bucket() -> None:
    hour = 3_600_000
    spans = [
        Span(0, None, Severity.WARNING),
        Span(hour, 2 * hour, Severity.CRITICAL),
        Span(-5 * hour, -hour, Severity.CRITICAL),
    ]
    series = timeline(spans, 0, 4 * hour, 4)
    assert [b.counts["WARNING"] for b in series] == [1, 1, 1, 1]
    assert [b.counts["CRITICAL"] for b in series] == [0, 1, 0, 0]


def test_signature_verifies_and_detects_tampering() -> None:
    body = b'{"alert":1}'
    headers = signed_headers("s3cret-s3cret-s3cret", "d1", "alert.firing", body, 1700000000)
    sig = headers["X-ParkLink-Signature"]
    assert sig.startswith("sha256=")
    assert verify("s3cret-s3cret-s3cret", 1700000000, body, sig)
    assert not verify("s3cret-s3cret-s3cret", 1700000000, body + b" ", sig)
    assert not verify("other-secret-other", 1700000000, body, sig)
    assert not verify("s3cret-s3cret-s3cret", 1700000001, body, sig)


def test_backoff_doubles_and_stops_after_the_last_attempt() -> None:
    delays = [next_attempt_in(n, 5, 0.5, 60, 0.0) for n in range(1, 6)]
    assert delays == [0.5, 1.0, 2.0, 4.0, None]
    assert next_attempt_in(3, 10, 10, 25, 0.0) == 25
    assert next_attempt_in(10_000, 20_000, 1, 600, 0.0) == 600  # capped, no overflow


def test_backoff_jitter_takes_off_up_to_half() -> None:
    assert next_attempt_in(3, 10, 1, 60, 1.0) == 2.0
    assert next_attempt_in(3, 10, 1, 60, 0.5) == 3.0
    assert next_attempt_in(40, 50, 1, 60, 1.0) == 30.0  # half of the cap
    for jitter in (-1.0, 2.0):  # out of range: clamped
        delay = next_attempt_in(3, 10, 1, 60, jitter)
        assert delay is not None and 2.0 <= delay <= 4.0


def test_sse_message_is_one_event_block() -> None:
    text = format_sse("alert", {"summary": "line1\nline2"}, 7)
    assert text == 'id: 7\nevent: alert\ndata: {"summary":"line1\\nline2"}\n\n'
