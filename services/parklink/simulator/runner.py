"""Plays the world against the wall clock and publishes what happens: each park has a queue
and a sender per kind of event, so a park in backoff delays only itself, and a batch is a run of
one park's events of one kind in the order they happened (each kind has its own topic, so
Kafka keeps no order across kinds anyway). A batch leaves its queue only once it is acknowledged, so
backpressure (429/503, Kafka down) costs time, never events.

A batch is all or nothing: it is either acknowledged whole or sent again whole. When the sink
says a batch is too large (the gateway's 413), the runner sends smaller batches from then on
instead of splitting one request into several, so that no part of a batch is ever sent twice
because another part of it was pushed back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from parklink.eventkit import metrics
from parklink.simulator.scenarios import ScenarioOptions, trigger
from parklink.simulator.sinks import Backpressure, Refused, Sink, TooLarge
from parklink.simulator.world import Emission, Injection, World

log = logging.getLogger(__name__)

TICK_S = 0.05
MAX_BACKOFF_S = 10.0


@dataclass
class Queued:
    emission: Emission
    enqueued: float  # monotonic clock


@dataclass
class Stats:
    generated: int = 0
    published: int = 0
    refused: int = 0
    retries: int = 0
    unpublished: int = 0  # still queued when the run stopped
    max_lag: float = 0.0  # longest an event waited to be published, seconds
    fell_behind: bool = False  # events waited longer than the runner's lag_warn_s
    started: float = field(default_factory=time.monotonic)

    def rate(self, now: float) -> float:
        return self.published / max(now - self.started, 1e-9)


class Runner:
    def __init__(
        self,
        world: World,
        sink: Sink,
        *,
        rate: float,
        options: ScenarioOptions,
        registry: CollectorRegistry,
        max_batch: int = 500,
        report_s: float = 10.0,
        lag_warn_s: float = 3.0,
        max_backlog: int = 200_000,
        max_events: int | None = None,
        drain_timeout_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.world = world
        self.sink = sink
        self.rate = rate
        self.options = options
        self.max_batch = max_batch
        self.report_s = report_s
        self.lag_warn_s = lag_warn_s
        self.max_backlog = max_backlog
        self.max_events = max_events
        self.drain_timeout_s = drain_timeout_s
        self.clock = clock
        self.stats = Stats(started=clock())
        self.started = False
        self._queues: dict[tuple[str, str], deque[Queued]] = {}  # (park, kind) -> events
        self._wake: dict[tuple[str, str], asyncio.Event] = {}
        self._workers: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._logged_injections = 0
        self._batch_limit = max_batch  # lowered when the sink says a batch is too large
        self._idle = asyncio.Event()
        self._t0 = clock()
        self._published = metrics.counter(
            registry, metrics.SIMULATOR_EVENTS_PUBLISHED, "Events acknowledged.", ("kind",)
        )
        self._refused = metrics.counter(
            registry, metrics.SIMULATOR_EVENTS_REFUSED, "Events refused.", ("kind",)
        )
        self._retries = metrics.counter(
            registry, metrics.SIMULATOR_RETRIES, "Batches sent again after backpressure."
        )
        self._backlog = metrics.gauge(
            registry, metrics.SIMULATOR_BACKLOG, "Events waiting to be published."
        )
        self._lag = metrics.gauge(
            registry, metrics.SIMULATOR_LAG_SECONDS, "Age of the oldest waiting event."
        )
        self._scenarios = metrics.counter(
            registry, metrics.SIMULATOR_SCENARIOS, "Scenarios injected.", ("scenario",)
        )

    # -- state --------------------------------------------------------------------------------
    @property
    def backlog(self) -> int:
        return sum(len(q) for q in self._queues.values())

    def lag(self, now: float) -> float:
        heads = [q[0].enqueued for q in self._queues.values() if q]
        return now - min(heads) if heads else 0.0

    @property
    def generating(self) -> bool:
        """False once --max-events events were generated (the run then only publishes)."""
        return self.max_events is None or self.stats.generated < self.max_events

    @property
    def _left_to_generate(self) -> int | None:
        return None if self.max_events is None else self.max_events - self.stats.generated

    def behind(self, now: float) -> bool:
        """Whether events now wait longer than lag_warn_s: the rate is not being sustained."""
        return self.lag(now) > self.lag_warn_s

    def trigger(self, name: str) -> Injection:
        """Inject a scenario now (on demand)."""
        injection = trigger(self.world, name, self.world.now, self.options)
        self._log_injections()
        return injection

    # -- main loop ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> Stats:
        """Until `stop`, `duration_s` or, with max_events, until that many events were
        generated and every one of them is published or refused."""
        self._t0 = self.clock()
        self.stats = Stats(started=self._t0)
        self.started = True
        next_report = self._t0 + self.report_s
        last_published = 0
        try:
            while not stop.is_set():
                now = self.clock()
                elapsed = now - self._t0
                if duration_s is not None and elapsed >= duration_s:
                    break
                if not self.generating and not self.backlog:
                    break
                if self.generating and self.backlog < self.max_backlog:
                    until = self.world.sim_time(elapsed)
                    self._enqueue(self.world.advance(until, self._left_to_generate), now)
                self._log_injections()
                self._watch_lag(now)
                if now >= next_report:
                    self._report(now, last_published)
                    last_published = self.stats.published
                    next_report = now + self.report_s
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), TICK_S)
        finally:
            await self._drain()
        return self.stats

    def _enqueue(self, emissions: list[Emission], now: float) -> None:
        left = self._left_to_generate
        if left is not None:
            emissions = emissions[:left]  # a release of held events can go past the limit
        self.stats.generated += len(emissions)
        for emission in emissions:
            lane = (emission.park, emission.kind)
            queue = self._queues.get(lane)
            if queue is None:
                queue = self._queues[lane] = deque()
                self._wake[lane] = asyncio.Event()
                self._workers[lane] = asyncio.create_task(self._sender(lane), name="/".join(lane))
            queue.append(Queued(emission, now))
            self._wake[lane].set()
        self._backlog.set(self.backlog)

    def _log_injections(self) -> None:
        for injection in self.world.injections[self._logged_injections :]:
            self._scenarios.labels(scenario=injection.scenario).inc()
            log.info(
                "scenario %s: %s (expect %s)",
                injection.scenario,
                injection.summary,
                ", ".join(injection.expected_alerts),
            )
        self._logged_injections = len(self.world.injections)

    def _watch_lag(self, now: float) -> None:
        lag = self.lag(now)
        self._lag.set(lag)
        self.stats.max_lag = max(self.stats.max_lag, lag)
        if lag > self.lag_warn_s:
            self.stats.fell_behind = True

    def _report(self, now: float, last_published: int) -> None:
        window = self.report_s
        achieved = (self.stats.published - last_published) / window
        lag = self.lag(now)
        if lag > self.lag_warn_s:
            log.warning(
                "cannot keep up with --rate %g: published %.1f events/s over the last %.0fs, "
                "%d waiting (oldest %.1fs), %d retries after backpressure; nothing is dropped",
                self.rate,
                achieved,
                window,
                self.backlog,
                lag,
                self.stats.retries,
            )
        else:
            log.info(
                "published %.1f events/s (target %g), %d in total, %d waiting, %d retries",
                achieved,
                self.rate,
                self.stats.published,
                self.backlog,
                self.stats.retries,
            )

    # -- senders ------------------------------------------------------------------------------
    async def _sender(self, lane: tuple[str, str]) -> None:
        park, kind = lane
        queue, wake = self._queues[lane], self._wake[lane]
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                continue
            batch = list(itertools.islice(queue, self._batch_limit))
            if not await self._deliver(park, kind, batch):
                continue  # too large: taken again as smaller batches
            for _ in batch:
                queue.popleft()
            self._backlog.set(self.backlog)
            if not self.backlog:
                self._idle.set()

    async def _deliver(self, park: str, kind: str, batch: list[Queued]) -> bool:
        """Send the batch until it is acknowledged (True) or refused (True, counted as
        refused); False when it is too large for the sink (the batch limit is then lowered)."""
        events = [item.emission.event for item in batch]
        attempt = 0
        while True:
            try:
                await self.sink.send(park, kind, events)
            except TooLarge as exc:
                if len(events) > 1:
                    limit = min(self._batch_limit, max(1, len(events) // 2))
                    if limit < self._batch_limit:
                        log.warning("%s; sending at most %d events per request", exc, limit)
                        self._batch_limit = limit
                    return False
                log.error("%s, even alone", exc)
                self.stats.refused += 1
                self._refused.labels(kind=kind).inc()
                return True
            except Backpressure as exc:
                attempt += 1
                self.stats.retries += 1
                self._retries.inc()
                backoff = min(MAX_BACKOFF_S, 0.2 * 2**attempt) * random.uniform(0.5, 1.0)  # noqa: S311
                delay = exc.retry_after if exc.retry_after is not None else backoff
                if attempt == 1 or attempt % 10 == 0:
                    log.warning(
                        "%s: %s; sending %d %s event(s) again in %.1fs (attempt %d)",
                        park,
                        exc.reason,
                        len(events),
                        kind,
                        delay,
                        attempt + 1,
                    )
                await asyncio.sleep(delay)
                continue
            except Refused as exc:
                log.error("%s", exc)
                self.stats.refused += len(events)
                self._refused.labels(kind=kind).inc(len(events))
                return True
            self.stats.published += len(events)
            self._published.labels(kind=kind).inc(len(events))
            return True

    async def _drain(self) -> None:
        """Give the senders a moment to publish what is queued, then stop them."""
        if self.backlog:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), self.drain_timeout_s)
        self.stats.unpublished = self.backlog
        if self.backlog:
            log.warning("stopping with %d events not published", self.backlog)
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
