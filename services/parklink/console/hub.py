"""Fan-out of live alert updates to Server-Sent Events clients. Each client owns a bounded
queue that is registered while its stream is open and removed when it ends, so a client
that goes away leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import Gauge

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerEvent:
    event: str
    data: dict[str, Any]


CLOSE = ServerEvent("close", {})
"""Put in a queue to end its stream (the client was too slow, or the console stops)."""


def format_sse(event: str, data: dict[str, Any] | list[Any], event_id: int | None = None) -> str:
    """One Server-Sent Events message; the JSON body never contains a raw newline."""
    lines = []
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append(f"event: {event}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


class Hub:
    """Lives on the event loop: subscribe/unsubscribe/publish are called from the loop thread
    (other threads go through `loop.call_soon_threadsafe`)."""

    def __init__(self, clients: Gauge, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[ServerEvent]] = set()
        self._clients = clients
        self._queue_size = queue_size
        self._seq = 0
        self._clients.set(0)

    def subscribe(self) -> asyncio.Queue[ServerEvent]:
        queue: asyncio.Queue[ServerEvent] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        self._clients.set(len(self._queues))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[ServerEvent]) -> None:
        self._queues.discard(queue)
        self._clients.set(len(self._queues))

    def next_id(self) -> int:
        self._seq += 1
        return self._seq

    def publish(self, event: ServerEvent) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # A client that stopped reading is cut off rather than buffered forever.
                log.warning("SSE client too slow, closing its stream")
                self.unsubscribe(queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(CLOSE)

    def close_all(self) -> None:
        for queue in list(self._queues):
            self.unsubscribe(queue)
            while not queue.empty():
                queue.get_nowait()
            queue.put_nowait(CLOSE)
