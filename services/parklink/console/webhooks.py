"""Delivers pending webhook deliveries from the database: POST the stored body, signed, and
note every attempt. A failure schedules the next attempt with jittered exponential backoff;
after the last attempt the delivery is marked failed. Because the queue is the database, a
restart resumes where it stopped, and a delivery marked delivered is never sent again.

Each webhook (receiver) has its own worker, started when it has deliveries due and ended when
it has none: the worker claims a few of them at a time (see `storage/webhooks.py`), sends them
and records the outcomes, so a slow or hanging receiver holds up only its own deliveries. An
attempt that takes longer than the timeout (resolving, connecting, sending and reading the
answer together) counts as failed.

Each attempt resolves and checks the target again (see `targets.py`) and connects to the
checked address. What the deliveries list records of a failure is only that it failed: the
reason (refused address, connection error, the receiver's answer) goes to the console's log."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from prometheus_client import Counter

from parklink.console.signing import next_attempt_in, signed_headers
from parklink.console.storage import DELIVERED, AlertStore, DueDelivery
from parklink.console.targets import AllowEntry, Resolver, TargetRefused, resolve_target

log = logging.getLogger(__name__)

FAILURE = "delivery failed"
_JITTER = secrets.SystemRandom()


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
        timeout_s: float = 10.0,
        per_receiver: int = 4,
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
        self._timeout_s = timeout_s
        self._per_receiver = per_receiver
        # A claim outlasts the attempts it covers (they run together, each bounded by the
        # timeout), with room for the database; then another console may take the delivery.
        self.lease_s = 2 * timeout_s + 30.0
        self._idle_s = idle_s
        self.claim = str(uuid.uuid4())
        """This dispatcher's name on the deliveries it has claimed."""
        self._wake = asyncio.Event()
        self._workers: dict[str, asyncio.Task[None]] = {}

    def wake(self) -> None:
        """New deliveries were queued (call on the loop thread)."""
        self._wake.set()

    async def run(self) -> None:
        try:
            while True:
                next_at = await self._start_workers()
                wait = self._idle_s
                if next_at is not None:
                    wait = min(wait, max(0.0, (next_at - datetime.now(UTC)).total_seconds()))
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=wait)
        finally:
            workers = list(self._workers.values())
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            with contextlib.suppress(Exception):
                released = await asyncio.to_thread(
                    self._store.release_claims, self.claim, datetime.now(UTC)
                )
                if released:
                    log.info("webhook dispatcher: handed back %d unfinished deliveries", released)

    async def _start_workers(self) -> datetime | None:
        """A worker for each webhook with deliveries due that has none; returns when the next
        delivery of the others is due."""
        try:
            due = await asyncio.to_thread(
                self._store.due_webhooks, datetime.now(UTC), frozenset(self._workers)
            )
            for webhook_id in due:
                if webhook_id not in self._workers:
                    task = asyncio.create_task(
                        self._serve(webhook_id), name=f"webhook-{webhook_id}"
                    )
                    self._workers[webhook_id] = task
                    task.add_done_callback(functools.partial(self._finished, webhook_id))
            return await asyncio.to_thread(self._store.next_due_at, frozenset(self._workers))
        except Exception:
            log.exception("webhook dispatcher: database error; retrying")
            return None

    def _finished(self, webhook_id: str, _task: asyncio.Task[None]) -> None:
        self._workers.pop(webhook_id, None)
        self._wake.set()

    async def _serve(self, webhook_id: str) -> None:
        """Send the due deliveries of one webhook until none is left."""
        try:
            while True:
                batch = await asyncio.to_thread(
                    self._store.claim_deliveries,
                    datetime.now(UTC),
                    self.claim,
                    self.lease_s,
                    webhook_id=webhook_id,
                    limit=self._per_receiver,
                )
                if not batch:
                    return
                await asyncio.gather(*(self.attempt(d) for d in batch))
        except Exception:
            # What it claimed is due again when the lease runs out.
            log.exception("webhook %s: database error; its worker stops", webhook_id)

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
            async with asyncio.timeout(self._timeout_s):
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
        except TimeoutError:
            reason = f"no answer within {self._timeout_s:g} s"
        except httpx.HTTPError as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
        error = None if reason is None else FAILURE
        attempts = delivery.attempts + 1
        now = datetime.now(UTC)
        retry_at = None
        if error is not None:
            delay = next_attempt_in(
                attempts, self._max_attempts, self._backoff_s, self._backoff_max_s, _JITTER.random()
            )
            retry_at = None if delay is None else now + timedelta(seconds=delay)
        status = await asyncio.to_thread(
            self._store.record_attempt,
            delivery.delivery_id,
            self.claim,
            now,
            delivered=error is None,
            status_code=status_code,
            error=error,
            retry_at=retry_at,
        )
        if status is None:
            log.warning(
                "webhook %s: the claim on %s was lost before its outcome was recorded",
                delivery.webhook_id,
                delivery.delivery_id,
            )
            return
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
