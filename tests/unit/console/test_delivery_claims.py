"""The delivery queue shared by consoles on one database, on SQLite and on PostgreSQL: each due
delivery is claimed by one dispatcher, only the claimant records its outcome, a stopping
dispatcher hands back what it did not finish, and a delivery's id is the same for the same
webhook and alert state. And one hanging receiver holds up only its own deliveries."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx
from factories import alert, resolved
from prometheus_client import CollectorRegistry

from parklink.console.matching import Matchers
from parklink.console.runtime import ConsoleMetrics
from parklink.console.storage import AlertStore, Incoming
from parklink.console.storage.webhooks import delivery_id_of
from parklink.console.targets import parse_allow_list
from parklink.console.webhooks import Dispatcher

OpenStore = Callable[[str], AlertStore]


def _hooks_and_alerts(store: AlertStore, hooks: int, alerts: int) -> list[str]:
    now = datetime.now(UTC)
    ids = [
        store.create_webhook(f"http://r{n}.test/", None, Matchers(), "", "ops", now)["webhook_id"]
        for n in range(hooks)
    ]
    records = [Incoming(alert(subject=f"SH-{n}"), 0, n) for n in range(alerts)]
    store.apply("alerts", records, now)
    return ids


def test_two_dispatchers_claiming_at_once_take_different_deliveries(
    open_store: OpenStore, database_url: str
) -> None:
    first, second = open_store(database_url), open_store(database_url)
    _hooks_and_alerts(first, hooks=2, alerts=30)
    now = datetime.now(UTC)
    taken: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    def claim(store: AlertStore, name: str) -> None:
        start.wait()
        while batch := store.claim_deliveries(now, name, 60, limit=3):
            taken[name] += [d.delivery_id for d in batch]

    threads = [
        threading.Thread(target=claim, args=(first, "a")),
        threading.Thread(target=claim, args=(second, "b")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(taken["a"]).isdisjoint(taken["b"])
    assert len(taken["a"]) + len(taken["b"]) == 60
    assert len(set(taken["a"] + taken["b"])) == 60
    # Claimed deliveries are not due for anyone until the lease runs out; then they are.
    assert first.claim_deliveries(now, "c", 60) == []
    assert len(first.claim_deliveries(now + timedelta(seconds=61), "c", 60, limit=100)) == 60


def test_only_the_claimant_records_and_a_stopping_one_hands_back(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    [webhook_id] = _hooks_and_alerts(store, hooks=1, alerts=2)
    now = datetime.now(UTC)
    one, two = store.claim_deliveries(now, "a", 60)
    lost = store.record_attempt(
        one.delivery_id, "b", now, delivered=True, status_code=200, error=None, retry_at=None
    )
    assert lost is None
    done = store.record_attempt(
        one.delivery_id, "a", now, delivered=True, status_code=200, error=None, retry_at=None
    )
    assert done == "delivered"
    assert store.release_claims("a", now) == 1  # `two` was not finished
    [again] = store.claim_deliveries(now, "b", 60)
    assert again.delivery_id == two.delivery_id
    statuses = {d["delivery_id"]: d["status"] for d in store.list_deliveries(webhook_id)}
    assert statuses == {one.delivery_id: "delivered", two.delivery_id: "pending"}


def test_delivery_ids_are_stable_per_webhook_and_alert_state(
    open_store: OpenStore, database_url: str
) -> None:
    firing = alert()
    assert delivery_id_of("w1", firing) == delivery_id_of("w1", alert())
    assert delivery_id_of("w1", firing) != delivery_id_of("w2", firing)
    assert delivery_id_of("w1", firing) != delivery_id_of("w1", resolved(firing))
    assert delivery_id_of("w1", firing) != delivery_id_of("w1", alert(severity="CRITICAL"))

    store = open_store(database_url)
    [webhook_id] = _hooks_and_alerts(store, hooks=1, alerts=0)
    store.apply(
        "alerts", [Incoming(firing, 0, 0), Incoming(resolved(firing), 0, 1)], datetime.now(UTC)
    )
    ids = {d["delivery_id"] for d in store.list_deliveries(webhook_id)}
    assert ids == {delivery_id_of(webhook_id, firing), delivery_id_of(webhook_id, resolved(firing))}


def test_a_hanging_receiver_holds_up_only_its_own_deliveries(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    now = datetime.now(UTC)
    hanging = store.create_webhook("http://hangs.test/", None, Matchers(), "", "ops", now)
    answering = store.create_webhook("http://answers.test/", None, Matchers(), "", "ops", now)
    metrics = ConsoleMetrics.create(CollectorRegistry())

    async def scenario() -> tuple[list[str], list[dict[str, object]]]:
        release = asyncio.Event()
        hung = asyncio.Event()
        answered: list[str] = []
        second_answered = asyncio.Event()

        async def handle(request: httpx.Request) -> httpx.Response:
            if request.headers["Host"] == "hangs.test":
                hung.set()
                await release.wait()
                return httpx.Response(204)
            answered.append(request.headers["X-ParkLink-Delivery"])
            if len(answered) == 2:
                second_answered.set()
            return httpx.Response(204)

        async with httpx.AsyncClient(transport=httpx.MockTransport(handle)) as client:
            dispatcher = Dispatcher(
                store,
                client,
                metrics.deliveries,
                backoff_s=0.01,
                backoff_max_s=0.05,
                max_attempts=3,
                allow=parse_allow_list("hangs.test:80,answers.test:80"),
                resolver=_loopback,
                timeout_s=3600,  # the hang ends when the test says so, not before
                per_receiver=1,
                idle_s=0.05,
            )
            task = asyncio.create_task(dispatcher.run())
            await asyncio.to_thread(
                store.apply, "alerts", [Incoming(alert(subject="SH-1"), 0, 0)], datetime.now(UTC)
            )
            dispatcher.wake()
            await asyncio.wait_for(hung.wait(), 60)  # bounds a broken test, times nothing
            await asyncio.to_thread(
                store.apply, "alerts", [Incoming(alert(subject="SH-2"), 0, 1)], datetime.now(UTC)
            )
            dispatcher.wake()
            await asyncio.wait_for(second_answered.wait(), 60)
            # Seen while the first receiver still hangs (its handler waits for `release`).
            hung_view = await asyncio.to_thread(store.list_deliveries, hanging["webhook_id"])
            release.set()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return answered, hung_view

    answered, hung_view = asyncio.run(scenario())
    # Both alerts reached the answering receiver while the other one hung on the first: its
    # two deliveries were pending, no attempt recorded.
    assert len(set(answered)) == 2
    assert [(d["status"], d["attempts"]) for d in hung_view] == [("pending", 0)] * 2
    assert {d["delivery_id"] for d in hung_view}.isdisjoint(answered)
    done = store.list_deliveries(answering["webhook_id"])
    assert {d["delivery_id"] for d in done} == set(answered)


async def _loopback(_host: str, _port: int) -> list[str]:
    return ["127.0.0.1"]
