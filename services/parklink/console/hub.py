"""Wakes the Server-Sent Events streams when the event log grows. A stream reads what it
sends from the log (see `storage/events.py`), so the hub carries no data: a slow client
cannot make it buffer, and a stream that wakes late still sends every event, in order. Each
stream registers while it is open and is removed when it ends."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client import Gauge


def format_sse(event: str, data: dict[str, Any] | list[Any], event_id: int | None = None) -> str:
    """One Server-Sent Events message; the JSON body never contains a raw newline."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


class Hub:
    """Lives on the event loop: every method is called from the loop thread (other threads
    go through `loop.call_soon_threadsafe`)."""

    def __init__(self, clients: Gauge) -> None:
        self._waiters: set[asyncio.Event] = set()
        self._clients = clients
        self.closing = False
        self._clients.set(0)

    def subscribe(self) -> asyncio.Event:
        waiter = asyncio.Event()
        self._waiters.add(waiter)
        self._clients.set(len(self._waiters))
        return waiter

    def unsubscribe(self, waiter: asyncio.Event) -> None:
        self._waiters.discard(waiter)
        self._clients.set(len(self._waiters))

    def wake(self) -> None:
        for waiter in self._waiters:
            waiter.set()

    def close_all(self) -> None:
        """The console stops: every stream ends."""
        self.closing = True
        self.wake()
