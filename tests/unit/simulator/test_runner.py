"""The runner against fake sinks: pushed-back batches are sent again whole and nothing is lost
or sent twice, a too-large batch makes the batches smaller instead of splitting one request,
--max-events bounds a run, and a run that cannot keep up says so."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from parklink.eventkit.contracts import ParkEvent
from parklink.eventkit.errors import DeliveryFailed
from parklink.eventkit.metrics import new_registry
from parklink.simulator import sinks
from parklink.simulator.app import create_web, summary
from parklink.simulator.runner import Runner, Stats
from parklink.simulator.scenarios import ScenarioOptions
from parklink.simulator.sinks import (
    Backpressure,
    DirectSink,
    GatewaySink,
    RecordingSink,
    Refused,
    TooLarge,
)
from parklink.simulator.world import World, WorldConfig

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class FakeSink:
    """Takes a batch only on every `push_back_every`-th attempt of a park (429 otherwise) and
    refuses batches longer than `max_batch` as too large; remembers what it acknowledged."""

    def __init__(
        self, push_back_every: int = 1, max_batch: int = 10_000, retry_after: float = 0.0
    ) -> None:
        self.push_back_every = push_back_every
        self.max_batch = max_batch
        self.retry_after = retry_after
        self.attempts: Counter[str] = Counter()
        self.acked: list[str] = []
        self.too_large = 0
        self.pushed_back = 0

    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        await asyncio.sleep(0)
        assert all(e.source_park == park_id for e in events)
        if len(events) > self.max_batch:
            self.too_large += 1
            raise TooLarge(f"{len(events)} events are too many")
        self.attempts[park_id] += 1
        if self.attempts[park_id] % self.push_back_every:
            self.pushed_back += 1
            raise Backpressure("gateway answered 429", self.retry_after)
        self.acked += [e.event_id for e in events]

    async def problems(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        return None


def make_runner(sink: object, **kw: object) -> Runner:
    # 2000 events per wall second from few orders per simulated hour (fast): the world's
    # warm-up (orders placed from weeks before the start) is then little work.
    world = World(WorldConfig(seed=11, start=START, speed=360_000.0, rate=2000.0))
    defaults: dict[str, object] = {
        "rate": 2000.0,
        "report_s": 60.0,
        "registry": new_registry("simulator-test"),
    }
    return Runner(
        world,
        sink,  # type: ignore[arg-type]
        options=ScenarioOptions(),
        **{**defaults, **kw},  # type: ignore[arg-type]
    )


def run(runner: Runner, duration_s: float | None = None) -> Stats:
    async def go() -> Stats:
        return await runner.run(asyncio.Event(), duration_s)

    return asyncio.run(go())


def test_max_events_bounds_the_run_and_every_event_is_published_once() -> None:
    sink = FakeSink()
    stats = run(make_runner(sink, max_events=300))
    assert stats.generated == 300
    assert stats.published == 300
    assert len(sink.acked) == len(set(sink.acked)) == 300
    assert (stats.refused, stats.unpublished, stats.retries) == (0, 0, 0)


def test_pushed_back_batches_are_sent_again_whole_and_nothing_is_lost() -> None:
    sink = FakeSink(push_back_every=3)
    stats = run(make_runner(sink, max_events=400))
    assert sink.pushed_back > 0
    assert stats.retries == sink.pushed_back
    assert stats.published == stats.generated == 400
    assert len(sink.acked) == len(set(sink.acked)) == 400


def test_too_large_makes_batches_smaller_without_sending_any_event_twice() -> None:
    """The gateway's batch limit is lower than the simulator's and it also pushes back: the
    old split-on-413 sent the first half, got 429 on the second, then sent both again."""
    sink = FakeSink(push_back_every=2, max_batch=7)
    runner = make_runner(sink, max_events=500, max_batch=100)
    stats = run(runner)
    assert sink.too_large > 0
    assert stats.published == stats.generated == 500
    assert len(sink.acked) == len(set(sink.acked)) == 500
    assert stats.refused == 0


def test_a_single_event_too_large_is_refused_not_retried_forever() -> None:
    sink = FakeSink(max_batch=0)
    stats = run(make_runner(sink, max_events=20))
    assert stats.refused == 20
    assert stats.published == 0
    assert stats.unpublished == 0


class RefusingSink(FakeSink):
    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        raise Refused(f"gateway refused {len(events)} {kind} event(s) of {park_id}: 403")


def test_refused_events_are_counted_not_retried() -> None:
    stats = run(make_runner(RefusingSink(), max_events=50))
    assert stats.refused == 50
    assert stats.retries == 0
    assert "refused 50" in summary(stats, 2000.0, 3.0)[0]


def test_a_run_that_cannot_keep_up_says_so(caplog: pytest.LogCaptureFixture) -> None:
    """Every park is pushed back twice for 0.3 s before each batch goes: events wait at least
    0.6 s, above the 0.2 s the runner tolerates."""
    sink = FakeSink(push_back_every=3, retry_after=0.3)
    runner = make_runner(sink, max_events=200, lag_warn_s=0.2, report_s=0.1)
    with caplog.at_level(logging.INFO, logger="parklink.simulator.runner"):
        stats = run(runner)
    assert stats.published == 200
    assert stats.fell_behind
    assert stats.max_lag >= 0.6
    assert any("cannot keep up with --rate 2000" in r.getMessage() for r in caplog.records)
    lines = summary(stats, 2000.0, 0.2)
    assert lines[1].startswith("fell behind --rate 2000")


def test_a_run_that_keeps_up_does_not_claim_to_fall_behind() -> None:
    stats = run(make_runner(FakeSink(), max_events=100, lag_warn_s=30.0))
    assert not stats.fell_behind
    assert len(summary(stats, 2000.0, 30.0)) == 1


def test_stopping_early_counts_what_was_not_published() -> None:
    """A gateway that never takes anything: the run stops after its duration and a short
    drain, and reports the queued events as not published (never as published)."""
    sink = FakeSink(push_back_every=10**9, retry_after=0.05)
    runner = make_runner(sink, drain_timeout_s=0.1)

    async def go() -> Stats:
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        await asyncio.sleep(0.3)
        stop.set()
        return await task

    stats = asyncio.run(go())
    assert stats.generated > 0
    assert stats.published == 0
    assert stats.unpublished == stats.generated
    assert "not published" in summary(stats, 2000.0, 3.0)[0]


def test_recording_sink_writes_only_acknowledged_events(tmp_path: Path) -> None:
    inner = FakeSink(push_back_every=2)
    path = tmp_path / "rec" / "events.jsonl"
    stats = run(make_runner(RecordingSink(inner, path), max_events=120))
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["event"]["event_id"] for line in lines] == inner.acked
    assert len(lines) == stats.published == 120
    assert {line["kind"] for line in lines} <= {"orders", "shipments", "capacity"}


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"Retry-After": "2"}, (Backpressure, 2.0)),
        (503, {"Retry-After": "5"}, (Backpressure, 5.0)),
        (503, {}, (Backpressure, None)),
        (413, {}, (TooLarge, None)),
        (422, {}, (Refused, None)),
    ],
)
def test_gateway_sink_tells_backpressure_too_large_and_refusal_apart(
    status: int, headers: dict[str, str], expected: tuple[type[Exception], float | None]
) -> None:
    import factories

    requests: list[httpx.Request] = []

    def reply(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(status, headers=headers, json={"error": {}})

    sink = GatewaySink(
        "http://gateway.test", {"KZ-ALA-IPA": "tok"}, transport=httpx.MockTransport(reply)
    )
    events: list[ParkEvent] = [factories.order(source_park="KZ-ALA-IPA") for _ in range(4)]

    async def go() -> None:
        try:
            await sink.send("KZ-ALA-IPA", "orders", events)
        finally:
            await sink.aclose()

    kind, retry_after = expected
    with pytest.raises(kind) as info:
        asyncio.run(go())
    assert len(requests) == 1  # never split into several requests
    assert requests[0].headers["Authorization"] == "Bearer tok"
    if isinstance(info.value, Backpressure):
        assert info.value.retry_after == retry_after


class FakePublisher:
    made: ClassVar[list[FakePublisher]] = []
    fail_next_flush: ClassVar[bool] = True

    def __init__(
        self, bootstrap: list[str], registry: str, park_id: str, topic_prefix: str, **_: object
    ):
        self.park_id = park_id
        self.closed = False
        self.sent: list[str] = []
        FakePublisher.made.append(self)

    def publish_many(self, events: list[ParkEvent]) -> list[str]:
        self.sent += [e.event_id for e in events]
        return [e.event_id for e in events]

    def flush(self) -> int:
        if FakePublisher.fail_next_flush:
            FakePublisher.fail_next_flush = False
            raise DeliveryFailed("1 of 2 event(s) not delivered (KafkaTimeoutError)")
        return len(self.sent)

    def close(self, timeout_s: float | None = None) -> None:
        self.closed = True


def test_direct_sink_replaces_a_publisher_after_a_delivery_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import factories

    monkeypatch.setattr(sinks, "Publisher", FakePublisher)
    monkeypatch.setattr(FakePublisher, "made", [])
    monkeypatch.setattr(FakePublisher, "fail_next_flush", True)
    sink = DirectSink(["127.0.0.1:1"], "http://registry.test", "t.")
    events: list[ParkEvent] = [factories.order(source_park="KZ-ALA-IPA") for _ in range(2)]

    async def go() -> None:
        with pytest.raises(Backpressure):
            await sink.send("KZ-ALA-IPA", "orders", events)
        await sink.send("KZ-ALA-IPA", "orders", events)
        await sink.aclose()

    asyncio.run(go())
    first, second = FakePublisher.made
    assert first.closed  # dropped after the failure
    assert second.closed  # closed by aclose
    assert second.sent == [e.event_id for e in events]


def test_status_says_whether_the_rate_is_kept(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from parklink.eventkit.tokens import TokenStore

    tokens = TokenStore.in_state_dir(tmp_path)
    registry = new_registry("simulator-status-test")
    sink = FakeSink(push_back_every=3, retry_after=0.3)
    runner = make_runner(sink, max_events=100, lag_warn_s=0.2, registry=registry)
    stats = run(runner)
    with TestClient(create_web(runner, sink, registry, tokens)) as client:
        status = client.get("/v1/status").json()
    tokens.close()
    assert status["generated"] == status["published"] == stats.published == 100
    assert status["backlog"] == 0
    assert status["keeping_up"] is True  # nothing waits any more
    assert status["fell_behind"] is True
    assert status["max_lag_seconds"] >= 0.6
    assert status["rate"] == 2000.0
