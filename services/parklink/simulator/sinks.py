"""Where the simulator's events go: the HTTP gateway (as each park, with its token) or Kafka
through the publisher SDK (`--direct`). Both tell backpressure (retry later, nothing lost)
apart from a refusal (the events are wrong) and from a batch that is too large (send smaller
ones). `RecordingSink` writes what was acknowledged to a JSON-lines file (`--record`).

Sending again after backpressure is exact for a 429 or 503 (the gateway took nothing), but not
after an ambiguous failure (the connection broke or timed out after the request went out, or
Kafka acknowledged part of an SDK batch): the same events may then be written twice. That is
safe: they keep their event_ids, and the detector ignores an event_id it has already seen."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

import httpx

from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import ParkEvent, now_utc
from parklink.eventkit.errors import DeliveryFailed, ParkLinkError, PublishError
from parklink.publisher import Publisher

log = logging.getLogger(__name__)


class Backpressure(Exception):
    """Not taken now; send the same events again later (after `retry_after` seconds if set)."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class Refused(ParkLinkError):
    """The events themselves were refused (a bug in the simulator or a bad token)."""


class TooLarge(Exception):
    """Nothing was taken: the request was too large (413); send fewer events at once."""


class Sink(Protocol):
    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None: ...

    async def problems(self) -> dict[str, str]: ...

    async def aclose(self) -> None: ...


def retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class GatewaySink:
    def __init__(
        self,
        url: str,
        tokens: dict[str, str],
        timeout_s: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._tokens = tokens
        self._http = httpx.AsyncClient(base_url=self.url, timeout=timeout_s, transport=transport)

    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        token = self._tokens.get(park_id)
        if token is None:
            raise Refused(f"no token for {park_id}")
        try:
            resp = await self._http.post(
                f"/v1/events/{kind}",
                json=[e.to_json() for e in events],
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.TransportError as exc:
            raise Backpressure(f"gateway unreachable: {type(exc).__name__}") from exc
        if resp.status_code == 202:
            return
        if resp.status_code in (429, 503):
            raise Backpressure(
                f"gateway answered {resp.status_code}", retry_after(resp.headers.get("Retry-After"))
            )
        if resp.status_code == 413:
            raise TooLarge(f"gateway refused {len(events)} {kind} event(s) as too large (413)")
        raise Refused(
            f"gateway refused {len(events)} {kind} event(s) of {park_id}: "
            f"{resp.status_code} {resp.text[:500]}"
        )

    async def problems(self) -> dict[str, str]:
        try:
            resp = await self._http.get("/readyz", timeout=2.0)
        except httpx.HTTPError as exc:
            return {"gateway": f"{self.url} unreachable: {type(exc).__name__}"}
        return {} if resp.status_code == 200 else {"gateway": f"{self.url}: {resp.status_code}"}

    async def aclose(self) -> None:
        await self._http.aclose()


class DirectSink:
    """One SDK publisher per park, straight to Kafka; blocking calls run in a thread. After a
    delivery failure the park's publisher is replaced: an idempotent producer whose batches
    expired may keep a stale sequence state, and a fresh one reconnects cleanly."""

    def __init__(
        self,
        bootstrap: list[str],
        registry_url: str,
        topic_prefix: str,
        time_bounds: TimeBounds | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self._registry_url = registry_url
        self._prefix = topic_prefix
        self._bounds = time_bounds
        self._clock = clock  # what the SDK judges event times by (default: the real time)
        self._publishers: dict[str, Publisher] = {}

    def _publish(self, park_id: str, events: list[ParkEvent]) -> None:
        try:
            pub = self._publishers.get(park_id)
            if pub is None:
                pub = Publisher(
                    self._bootstrap,
                    self._registry_url,
                    park_id=park_id,
                    topic_prefix=self._prefix,
                    time_bounds=self._bounds,
                    clock=self._clock or now_utc,
                )
                self._publishers[park_id] = pub
            pub.publish_many(events)
            pub.flush()
        except DeliveryFailed as exc:
            self._discard(park_id)
            raise Backpressure(f"Kafka did not take the events: {exc}") from exc
        except PublishError as exc:
            raise Refused(f"SDK refused events of {park_id}: {exc}") from exc
        except ParkLinkError as exc:  # Kafka or the registry unreachable
            self._discard(park_id)
            raise Backpressure(str(exc)) from exc

    def _discard(self, park_id: str) -> None:
        pub = self._publishers.pop(park_id, None)
        if pub is None:
            return
        try:
            pub.close(timeout_s=0)
        except ParkLinkError as exc:
            log.info("dropping the publisher of %s after a failure: %s", park_id, exc)

    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        await asyncio.to_thread(self._publish, park_id, events)

    async def problems(self) -> dict[str, str]:
        return {}

    async def aclose(self) -> None:
        for pub in self._publishers.values():
            try:
                await asyncio.to_thread(pub.close)
            except ParkLinkError as exc:
                log.warning("closing the publisher of %s: %s", pub.park_id, exc)


class RecordingSink:
    """Passes events on to `inner` and appends each acknowledged one to `path` as a JSON line
    {"kind": ..., "event": {...}}: a record of what the network was told."""

    def __init__(self, inner: Sink, path: Path) -> None:
        self._inner = inner
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._out: IO[str] = path.open("a", encoding="utf-8")

    async def send(self, park_id: str, kind: str, events: list[ParkEvent]) -> None:
        await self._inner.send(park_id, kind, events)
        self._out.writelines(
            json.dumps({"kind": kind, "event": e.to_json()}, separators=(",", ":")) + "\n"
            for e in events
        )
        self._out.flush()

    async def problems(self) -> dict[str, str]:
        return await self._inner.problems()

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._out.close()
