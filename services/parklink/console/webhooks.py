"""Delivers pending webhook deliveries from the database: POST the stored body, signed, and
note every attempt. A failure schedules the next attempt with exponential backoff; after the
last attempt the delivery is marked failed. Because the queue is the database, a restart
resumes where it stopped, and a delivery marked delivered is never sent again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import Counter

from parklink.console.signing import next_attempt_in, signed_headers
from parklink.console.storage import DELIVERED, AlertStore, DueDelivery

log = logging.getLogger(__name__)


class Dispatcher:
    def __init__(
        self,
        store: AlertStore,
        client: httpx.AsyncClient,
        outcomes: Counter,
        *,
        backoff_s: float,
        backoff_max_s: float,
        max_attempts: int,
        idle_s: float = 5.0,
    ) -> None:
        self._store = store
        self._client = client
        self._outcomes = outcomes
        self._backoff_s = backoff_s
        self._backoff_max_s = backoff_max_s
        self._max_attempts = max_attempts
        self._idle_s = idle_s
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """New deliveries were queued (call on the loop thread)."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                due = await asyncio.to_thread(self._store.due_deliveries, datetime.now(UTC))
                if due:
                    await asyncio.gather(*(self._attempt(d) for d in due))
                    continue
                next_at = await asyncio.to_thread(self._store.next_due_at)
            except Exception:
                log.exception("webhook dispatcher: database error; retrying")
                next_at = None
            wait = self._idle_s
            if next_at is not None:
                wait = min(wait, max(0.0, (next_at - datetime.now(UTC)).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _attempt(self, delivery: DueDelivery) -> None:
        body = delivery.body.encode()
        headers = signed_headers(
            delivery.secret,
            delivery.delivery_id,
            delivery.event,
            body,
            int(datetime.now(UTC).timestamp()),
        )
        status_code: int | None = None
        error: str | None = None
        try:
            resp = await self._client.post(delivery.url, content=body, headers=headers)
            status_code = resp.status_code
            if not 200 <= resp.status_code < 300:
                error = f"receiver answered {resp.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = delivery.attempts + 1
        now = datetime.now(UTC)
        retry_at = None
        if error is not None:
            delay = next_attempt_in(
                attempts, self._max_attempts, self._backoff_s, self._backoff_max_s
            )
            retry_at = None if delay is None else now + timedelta(seconds=delay)
        status = await asyncio.to_thread(
            self._store.record_attempt,
            delivery.delivery_id,
            now,
            delivered=error is None,
            status_code=status_code,
            error=error,
            retry_at=retry_at,
        )
        outcome = status if status != "pending" else "retry"
        self._outcomes.labels(outcome=outcome).inc()
        if status == DELIVERED:
            log.info("webhook %s: delivered %s", delivery.webhook_id, delivery.delivery_id)
        else:
            log.warning(
                "webhook %s: attempt %d of %s failed (%s)%s",
                delivery.webhook_id,
                attempts,
                delivery.delivery_id,
                error,
                "" if retry_at else "; giving up",
            )
