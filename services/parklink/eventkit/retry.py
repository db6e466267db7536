"""Waiting out a schema registry that cannot answer, for the kafka-python consumers (the
relay, `parklink subscribe`): a record whose schema id the registry cannot look up right now
is read again after a jittered, exponentially longer pause, never set aside, and nothing
after it is handled before it. Only a confirmed unknown id (`UnknownSchemaId`) is final.

An outage is logged when it begins and when it ends, not once per record or per try."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from parklink.eventkit.serde import RegistryUnavailable

T = TypeVar("T")

REGISTRY_RETRY_FIRST_S = 0.5
REGISTRY_RETRY_MAX_S = 10.0
"""The first pause before a record is decoded again while the registry cannot answer, and
the longest."""


class Stopping(Exception):
    """The consumer was asked to stop while it waited for the registry: the record is not
    handled, so its offset must not be committed."""


class Backoff:
    """Pauses of at most `first`, `2 * first`, ... up to `longest`, each drawn from the upper
    half of its bound so that consumers that failed together do not retry together."""

    def __init__(
        self,
        first: float = REGISTRY_RETRY_FIRST_S,
        longest: float = REGISTRY_RETRY_MAX_S,
        draw: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if not 0 < first <= longest:
            raise ValueError(f"need 0 < first <= longest, got {first} and {longest}")
        self._first, self._longest, self._draw = first, longest, draw
        self._bound = first

    def pause(self) -> float:
        """The next pause in seconds."""
        bound = self._bound
        self._bound = min(bound * 2, self._longest)
        return self._draw(bound / 2, bound)


class Outage:
    """What one consumer knows of the registry: answering, or out since when and why. Logs
    the start and the end of an outage once each; `on_change(True/False)` lets a service
    show it (a gauge, /readyz)."""

    def __init__(
        self,
        who: str,
        logger: logging.Logger,
        on_change: Callable[[bool], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.who = who
        self._log = logger
        self._on_change = on_change
        self._clock = clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._tries = 0
        self.problem: str | None = None
        """Why the registry is out, while it is; None while it answers."""

    @property
    def active(self) -> bool:
        return self._since is not None

    def failed(self, problem: RegistryUnavailable) -> None:
        with self._lock:
            self._tries += 1
            self.problem = str(problem)
            if self._since is not None:
                return
            self._since = self._clock()
        self._log.warning(
            "%s waits for the schema registry; records are held, none is set aside: %s",
            self.who,
            problem,
        )
        if self._on_change is not None:
            self._on_change(True)

    def answered(self) -> None:
        if self._since is None:  # the usual case, read without the lock
            return
        with self._lock:
            if self._since is None:
                return
            out_for, tries = self._clock() - self._since, self._tries
            self._since, self._tries, self.problem = None, 0, None
        self._log.info(
            "%s: the schema registry answered again after %.0f s (%d tries)",
            self.who,
            out_for,
            tries,
        )
        if self._on_change is not None:
            self._on_change(False)


def once_the_registry_answers(
    decode: Callable[[], T],
    outage: Outage,
    wait: Callable[[float], bool],
    backoff: Callable[[], Backoff] = Backoff,
) -> T:
    """`decode()`, again and again while it raises `RegistryUnavailable`, with a `Backoff`
    pause between tries. `wait(seconds)` sleeps and returns True when the consumer is told to
    stop meanwhile, which raises `Stopping`. Any other error of `decode` is the caller's."""
    pauses: Backoff | None = None
    while True:
        try:
            value = decode()
        except RegistryUnavailable as exc:
            outage.failed(exc)
            pauses = pauses or backoff()
            if wait(pauses.pause()):
                raise Stopping from exc
            continue
        outage.answered()
        return value


def sleeping(stop: threading.Event | None = None) -> Callable[[float], bool]:
    """A `wait` for `once_the_registry_answers`: sleeps, cut short by `stop` when given."""
    if stop is not None:
        return stop.wait

    def wait(seconds: float) -> bool:
        time.sleep(seconds)
        return False

    return wait
