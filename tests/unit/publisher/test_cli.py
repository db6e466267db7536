"""`parklink publish --gateway`'s sender against scripted answers: 429/503 and no answer are
sent again after Retry-After, a bounded number of times; a 202 is never sent again; what is
never taken is left, and said."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import factories
import httpx

from parklink.eventkit.contracts import ParkEvent
from parklink.publisher.cli import GatewaySender, Numbered, Tally, retry_after_s, summary


def _chunk(n: int, first_line: int = 1) -> Numbered:
    events: list[ParkEvent] = [factories.order(order_id=f"PO-{i}") for i in range(n)]
    return [(first_line + i, e) for i, e in enumerate(events)]


def _sender(
    answers: list[Callable[[httpx.Request], httpx.Response]], retries: int = 3
) -> tuple[GatewaySender, list[float], list[httpx.Request]]:
    waits: list[float] = []
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[min(len(seen), len(answers)) - 1](request)

    sender = GatewaySender(
        "http://gw", "plk_t", "orders", retries, sleep=waits.append,
        transport=httpx.MockTransport(handle),
    )  # fmt: skip
    return sender, waits, seen


def accepted(request: httpx.Request) -> httpx.Response:
    count = request.content.count(b'"event_id"')
    return httpx.Response(202, json={"accepted": count, "event_ids": []})


def limited(seconds: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(_request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "rate_limited", "message": "slow down", "details": []}}
        return httpx.Response(429, json=body, headers={"Retry-After": seconds})

    return answer


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("refused", request=request)


def test_a_429_is_sent_again_after_its_retry_after() -> None:
    sender, waits, seen = _sender([limited("2"), limited("7"), accepted])
    tally = Tally()
    assert sender.send(_chunk(5), tally)
    assert (tally.ok, tally.rejected, tally.left) == (5, [], [])
    assert waits == [2.0, 7.0]
    assert len(seen) == 3 and seen[0].content == seen[2].content


def test_an_acknowledged_batch_is_never_sent_again() -> None:
    sender, waits, seen = _sender([accepted])
    tally = Tally()
    assert sender.send(_chunk(3), tally) and sender.send(_chunk(2, 4), tally)
    assert tally.ok == 5 and len(seen) == 2 and waits == []


def test_no_answer_backs_off_and_what_is_never_taken_is_left() -> None:
    sender, waits, seen = _sender([unreachable], retries=3)
    tally = Tally()
    assert not sender.send(_chunk(4), tally)
    assert len(seen) == 4
    assert waits == [1.0, 2.0, 4.0]
    assert [n for n, _ in tally.left] == [1, 2, 3, 4]
    assert tally.ok == 0 and tally.rejected == []


def test_a_refusal_is_final_and_a_huge_retry_after_is_capped() -> None:
    def refused(_request: httpx.Request) -> httpx.Response:
        body = {"error": {"code": "foreign_park", "message": "not yours", "details": []}}
        return httpx.Response(403, json=body)

    sender, waits, seen = _sender([refused])
    tally = Tally()
    assert sender.send(_chunk(2), tally)
    assert [p for _, p in tally.rejected] == ["gateway refused the batch: 403 not yours"] * 2
    assert len(seen) == 1
    sender, waits, _ = _sender([limited("86400"), accepted])
    assert sender.send(_chunk(1), Tally())
    assert waits == [60.0]


def test_retry_after_as_seconds_or_a_date() -> None:
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert retry_after_s("5") == 5.0
    assert retry_after_s(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30.0
    assert retry_after_s("soon") is None
    assert retry_after_s(None) is None


def test_the_summary_says_published_refused_and_left() -> None:
    tally = Tally(ok=3, rejected=[(2, "bad")], left=[(5, "down"), (6, "down")])
    line = summary("orders", tally, 6, Path("o.jsonl"))
    assert line.startswith("orders: 3 published, 1 refused, 2 left unpublished of 6 lines")
    assert "lines 5, 6" in line
