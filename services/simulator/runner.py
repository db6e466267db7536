"""Plays the world against the wall clock and publishes what happens: each park has its own
queue and sender, so a park in backoff delays only itself; a batch leaves its queue only once
it is acknowledged, so backpressure (429/503, Kafka down) costs time, never events."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from parklink.eventkit import metrics
from parklink.simulator.scenarios import ScenarioOptions, trigger
from parklink.simulator.sinks import Backpressure, Refused, Sink
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
    published: int = 0
    refused: int = 0
    retries: int = 0
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
        self.clock = clock
        self.stats = Stats(started=clock())
        self.started = False
        self._queues: dict[str, deque[Queued]] = {}
        self._wake: dict[str, asyncio.Event] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._logged_injections = 0
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

    def trigger(self, name: str) -> Injection:
        """Inject a scenario now (on demand)."""
        injection = trigger(self.world, name, self.world.now, self.options)
        self._log_injections()
        return injection

    # -- main loop ----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> Stats:
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
                if self.backlog < self.max_backlog:
                    self._enqueue(self.world.advance(self.world.sim_time(elapsed)), now)
                self._log_injections()
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
        for emission in emissions:
            park = emission.park
            queue = self._queues.get(park)
            if queue is None:
                queue = self._queues[park] = deque()
                self._wake[park] = asyncio.Event()
                self._workers[park] = asyncio.create_task(self._sender(park), name=park)
            queue.append(Queued(emission, now))
            self._wake[park].set()
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

    def _report(self, now: float, last_published: int) -> None:
        window = self.report_s
        achieved = (self.stats.published - last_published) / window
        lag = self.lag(now)
        self._lag.set(lag)
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
    async def _sender(self, park: str) -> None:
        queue, wake = self._queues[park], self._wake[park]
        while True:
            if not queue:
                wake.clear()
                await wake.wait()
                continue
            kind = queue[0].emission.kind
            batch: list[Queued] = []
            for item in queue:
                if item.emission.kind != kind or len(batch) >= self.max_batch:
                    break
                batch.append(item)
            await self._deliver(park, kind, batch)
            for _ in batch:
                queue.popleft()
            self._backlog.set(self.backlog)
            if not self.backlog:
                self._idle.set()

    async def _deliver(self, park: str, kind: str, batch: list[Queued]) -> None:
        events = [item.emission.event for item in batch]
        attempt = 0
        while True:
            try:
                await self.sink.send(park, kind, events)
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
                return
            self.stats.published += len(events)
            self._published.labels(kind=kind).inc(len(events))
            return

    async def _drain(self, timeout_s: float = 15.0) -> None:
        """Give the senders a moment to publish what is queued, then stop them."""
        if self.backlog:
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), timeout_s)
        if self.backlog:
            log.warning("stopping with %d events not published", self.backlog)
        for task in self._workers.values():
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
