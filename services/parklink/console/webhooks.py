"""Delivers pending webhook deliveries from the database: POST the stored body, signed, and
note every attempt. A failure schedules the next attempt with exponential backoff; after the
last attempt the delivery is marked failed. Because the queue is the database, a restart
resumes where it stopped, and a delivery marked delivered is never sent again.

Each attempt resolves and checks the target again (see `targets.py`) and connects to the
checked address. What the deliveries list records of a failure is only that it failed: the
reason (refused address, connection error, the receiver's answer) goes to the console's log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import Counter

from parklink.console.signing import next_attempt_in, signed_headers
from parklink.console.storage import DELIVERED, AlertStore, DueDelivery
from parklink.console.targets import AllowEntry, Resolver, TargetRefused, resolve_target

log = logging.getLogger(__name__)

FAILURE = "delivery failed"


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
        allow: list[AllowEntry],
        resolver: Resolver,
        idle_s: float = 5.0,
    ) -> None:
        self._allow = allow
        self._resolver = resolver
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
                    await asyncio.gather(*(self.attempt(d) for d in due))
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

    async def attempt(self, delivery: DueDelivery) -> None:
        """Try one delivery once and record the outcome."""
        body = delivery.body.encode()
        headers = signed_headers(
            delivery.secret,
            delivery.delivery_id,
            delivery.event,
            body,
            int(datetime.now(UTC).timestamp()),
        )
        status_code: int | None = None
        reason: str | None = None
        try:
            target = await resolve_target(delivery.url, self._allow, self._resolver)
            headers["Host"] = target.host_header()
            extensions = {"sni_hostname": target.host} if target.tls else {}
            resp = await self._client.post(
                target.pinned_url(), content=body, headers=headers, extensions=extensions
            )
            if 200 <= resp.status_code < 300:
                status_code = resp.status_code
            else:
                reason = f"receiver answered {resp.status_code}"
        except TargetRefused as exc:
            reason = f"target refused: {exc}"
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
        error = None if reason is None else FAILURE
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
                reason,
                "" if retry_at else "; giving up",
            )
