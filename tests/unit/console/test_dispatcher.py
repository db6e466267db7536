"""The webhook dispatcher against a receiver simulated with httpx.MockTransport (no network)
and a stub resolver, on SQLite and on PostgreSQL: retries, the generic failure record, and
the address check before each delivery (DNS rebinding, pinned connections)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from factories import alert
from prometheus_client import CollectorRegistry

from parklink.console.matching import Matchers
from parklink.console.runtime import ConsoleMetrics
from parklink.console.sealing import SecretBox
from parklink.console.signing import verify
from parklink.console.storage import AlertStore, Incoming
from parklink.console.targets import parse_allow_list
from parklink.console.webhooks import FAILURE, Dispatcher
from parklink.eventkit.errors import ParkLinkError

SECRET = "whsec-unit-0123456789abcdef"
OpenStore = Callable[[str], AlertStore]
PUBLIC = "93.184.215.14"
"""A public address the stub resolver hands out; MockTransport means nothing connects to it."""


class StubResolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def __call__(self, host: str, _port: int) -> list[str]:
        self.asked.append(host)
        return self.answers[host]


def _counted(metrics: ConsoleMetrics) -> int:
    """Attempts the dispatcher has counted (it counts after recording each one)."""
    return sum(
        int(metrics.deliveries.labels(outcome=o)._value.get())
        for o in ("delivered", "retry", "failed")
    )


def _attempts(store: AlertStore) -> int:
    with store.engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT coalesce(sum(attempts), 0) FROM webhook_deliveries"
            ).scalar_one()
        )


async def _drain(
    store: AlertStore,
    handler: httpx.MockTransport,
    max_attempts: int,
    resolver: StubResolver | None = None,
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
            allow=parse_allow_list("receiver.test:80"),
            resolver=resolver or StubResolver({"receiver.test": ["127.0.0.1"]}),
            idle_s=0.05,
        )
        task = asyncio.create_task(dispatcher.run())
        for _ in range(1000):  # bounded: a dispatcher that never finishes fails the test
            if not store.delivery_counts().get("pending") and _counted(metrics) == _attempts(store):
                break
            await asyncio.sleep(0.02)
        task.cancel()
    return metrics


def _setup(
    open_store: OpenStore,
    database_url: str,
    url: str = "http://receiver.test/hook",
    subject: str = "SH-1",
) -> tuple[AlertStore, str]:
    store = open_store(database_url)
    hook = store.create_webhook(url, SECRET, Matchers(), "", "ops", datetime.now(UTC))
    store.apply("alerts", [Incoming(alert(subject=subject), 0, 0)], datetime.now(UTC))
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


def test_marked_failed_after_the_last_attempt_with_a_generic_reason(
    open_store: OpenStore, database_url: str
) -> None:
    store, webhook_id = _setup(open_store, database_url)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    asyncio.run(_drain(store, httpx.MockTransport(refuse), max_attempts=3))
    [delivery] = store.list_deliveries(webhook_id)
    assert (delivery["status"], delivery["attempts"]) == ("failed", 3)
    assert delivery["last_error"] == FAILURE
    assert store.claim_deliveries(datetime.now(UTC), "another", 60) == []


def test_an_answering_port_and_a_closed_one_look_the_same(
    open_store: OpenStore, database_url: str
) -> None:
    """The deliveries list must not tell an operator which ports answer."""
    store = open_store(database_url)
    now = datetime.now(UTC)
    closed = store.create_webhook("http://receiver.test:81/", SECRET, Matchers(), "", "ops", now)
    answering = store.create_webhook("http://receiver.test/", SECRET, Matchers(), "", "ops", now)
    store.apply("alerts", [Incoming(alert(), 0, 0)], now)

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.port == 81:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(403)

    metrics = ConsoleMetrics.create(CollectorRegistry())
    resolver = StubResolver({"receiver.test": ["127.0.0.1"]})

    async def once() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            dispatcher = Dispatcher(
                store,
                client,
                metrics.deliveries,
                backoff_s=0.01,
                backoff_max_s=0.05,
                max_attempts=1,
                allow=parse_allow_list("receiver.test:*"),
                resolver=resolver,
            )
            for due in store.claim_deliveries(datetime.now(UTC), dispatcher.claim, 60):
                await dispatcher.attempt(due)

    asyncio.run(once())
    [a] = store.list_deliveries(closed["webhook_id"])
    [b] = store.list_deliveries(answering["webhook_id"])
    keys = ("status", "attempts", "last_status_code", "last_error")
    assert [a[k] for k in keys] == [b[k] for k in keys] == ["failed", 1, None, FAILURE]


def test_a_name_that_now_resolves_to_loopback_is_not_delivered(
    open_store: OpenStore, database_url: str
) -> None:
    """DNS rebinding: public when registered, loopback at delivery time."""
    store, webhook_id = _setup(open_store, database_url, "https://rebind.test/hook")
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    resolver = StubResolver({"rebind.test": ["127.0.0.1"]})
    asyncio.run(_drain(store, httpx.MockTransport(handle), max_attempts=2, resolver=resolver))
    [delivery] = store.list_deliveries(webhook_id)
    assert seen == []
    assert resolver.asked == ["rebind.test", "rebind.test"]
    assert (delivery["status"], delivery["last_error"]) == ("failed", FAILURE)


def test_the_delivery_connects_to_the_checked_address(
    open_store: OpenStore, database_url: str
) -> None:
    store, webhook_id = _setup(open_store, database_url, "https://erp.test:8443/in?x=1")
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    resolver = StubResolver({"erp.test": [PUBLIC]})
    asyncio.run(_drain(store, httpx.MockTransport(handle), max_attempts=1, resolver=resolver))
    [request] = seen
    assert str(request.url) == f"https://{PUBLIC}:8443/in?x=1"
    assert request.headers["Host"] == "erp.test:8443"
    assert request.extensions["sni_hostname"] == "erp.test"
    assert store.list_deliveries(webhook_id)[0]["status"] == "delivered"


def test_secrets_are_encrypted_at_rest(open_store: OpenStore, database_url: str) -> None:
    store, webhook_id = _setup(open_store, database_url)
    with store.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT secret FROM webhooks WHERE webhook_id = %s"
            if store.engine.dialect.name == "postgresql"
            else "SELECT secret FROM webhooks WHERE webhook_id = ?",
            (webhook_id,),
        ).scalar_one()
    assert SECRET not in stored
    assert stored.startswith("fernet:")
    [due] = store.claim_deliveries(datetime.now(UTC), "test", 60)
    assert due.secret == SECRET


def test_plain_secrets_from_before_are_sealed_and_a_wrong_key_stops_the_start(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'console.db'}"
    box = SecretBox.generate()
    store = AlertStore.open(url, box)
    hook = store.create_webhook(
        "https://erp.test/", SECRET, Matchers(), "", "ops", datetime.now(UTC)
    )
    with store.engine.begin() as conn:  # as a console before encryption stored it
        conn.exec_driver_sql("UPDATE webhooks SET secret = ?", (SECRET,))
    store.close()
    again = AlertStore.open(url, box)
    try:
        with again.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT secret FROM webhooks").scalar_one()
        assert stored.startswith("fernet:")
        assert again.box.open(stored) == SECRET
        assert again.get_webhook(hook["webhook_id"]) is not None
    finally:
        again.close()
    with pytest.raises(ParkLinkError, match="cannot be decrypted"):
        AlertStore.open(url, SecretBox.generate())
