"""The webhook dispatcher against a receiver simulated with httpx.MockTransport (no network),
on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from factories import alert
from prometheus_client import CollectorRegistry

from parklink.console.matching import Matchers
from parklink.console.runtime import ConsoleMetrics
from parklink.console.signing import verify
from parklink.console.storage import AlertStore, Incoming
from parklink.console.webhooks import Dispatcher

SECRET = "whsec-unit-0123456789abcdef"
OpenStore = Callable[[str], AlertStore]


async def _drain(
    store: AlertStore, handler: httpx.MockTransport, max_attempts: int
) -> ConsoleMetrics:
    metrics = ConsoleMetrics.create(CollectorRegistry())
    async with httpx.AsyncClient(transport=handler) as client:
        dispatcher = Dispatcher(
            store,
            client,
            metrics.deliveries,
            backoff_s=0.01,
            backoff_max_s=0.05,
            max_attempts=max_attempts,
            idle_s=0.05,
        )
        task = asyncio.create_task(dispatcher.run())
        for _ in range(1000):  # bounded: a dispatcher that never finishes fails the test
            if not store.delivery_counts().get("pending"):
                break
            await asyncio.sleep(0.02)
        task.cancel()
    return metrics


def _setup(open_store: OpenStore, database_url: str) -> tuple[AlertStore, str]:
    store = open_store(database_url)
    hook = store.create_webhook(
        "http://receiver.test/hook", SECRET, Matchers(), "", "ops", datetime.now(UTC)
    )
    store.apply("alerts", [Incoming(alert(), 0, 0)], datetime.now(UTC))
    return store, hook["webhook_id"]


def test_retries_until_the_receiver_answers(open_store: OpenStore, database_url: str) -> None:
    store, webhook_id = _setup(open_store, database_url)
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503 if len(seen) <= 3 else 204)

    metrics = asyncio.run(_drain(store, httpx.MockTransport(handle), max_attempts=5))
    [delivery] = store.list_deliveries(webhook_id)
    assert (delivery["status"], delivery["attempts"]) == ("delivered", 4)
    assert len({r.headers["X-ParkLink-Delivery"] for r in seen}) == 1
    last = seen[-1]
    assert verify(
        SECRET,
        int(last.headers["X-ParkLink-Timestamp"]),
        last.content,
        last.headers["X-ParkLink-Signature"],
    )
    assert metrics.deliveries.labels(outcome="retry")._value.get() == 3
    assert metrics.deliveries.labels(outcome="delivered")._value.get() == 1


def test_marked_failed_after_the_last_attempt(open_store: OpenStore, database_url: str) -> None:
    store, webhook_id = _setup(open_store, database_url)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    asyncio.run(_drain(store, httpx.MockTransport(refuse), max_attempts=3))
    [delivery] = store.list_deliveries(webhook_id)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
    assert "ConnectError" in delivery["last_error"]
    assert store.due_deliveries(datetime.now(UTC)) == []
