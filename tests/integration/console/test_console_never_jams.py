"""The console as a process on a real broker, registry and PostgreSQL: alerts the database
refuses are counted and skipped and the next alert is stored; one hanging webhook receiver
does not delay another; two consoles on one database deliver each alert state exactly once."""

from __future__ import annotations

import json
import secrets
import string
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from factories import alert, resolved
from integration.console.harness import (
    Console,
    Publisher,
    Receiver,
    console_env,
    new_console,
    wait_for,
)
from pgserver import Databases

from parklink.console.storage.webhooks import delivery_id_of
from parklink.eventkit.contracts import DisruptionAlert

pytestmark = pytest.mark.broker


@pytest.fixture
def postgres_url(postgres_databases: Databases) -> Iterator[str]:
    url = postgres_databases.create()
    yield url
    postgres_databases.drop(url)


def _consumed(console: Console) -> dict[str, float]:
    """The console's count of records read, by outcome."""
    out: dict[str, float] = {}
    prefix = "parklink_console_alerts_consumed_total{"
    for line in httpx.get(console.url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(prefix):
            labels, value = line[len(prefix) :].split("} ")
            out[labels.split('"')[1]] = float(value)
    return out


def _unchecked(base: DisruptionAlert, **fields: object) -> DisruptionAlert:
    """What a producer that skips the contract's checks could write (no validation)."""
    return base.model_copy(update=fields)


def test_alerts_the_database_refuses_are_skipped_and_the_next_one_is_stored(
    kafka_bootstrap: str,
    topic_prefix: str,
    registry_url: str,
    state_dir: Path,
    postgres_url: str,
    publisher: Publisher,
) -> None:
    env = console_env(kafka_bootstrap, topic_prefix, registry_url, state_dir)
    env["PARKLINK_DATABASE_URL"] = postgres_url
    console = new_console(env, state_dir)
    console.start()
    try:
        # PostgreSQL refuses NUL in text; random capitals beyond what one index entry holds.
        huge_park = "".join(secrets.choice(string.ascii_uppercase) for _ in range(20_000))
        publisher.publish(
            _unchecked(alert(subject="SH-1"), alert_id="SHIPMENT_DELAY|SH-\x00"),
            _unchecked(alert(subject="SH-2"), parks=[huge_park]),
            alert(subject="SH-3"),
        )
        items = wait_for(lambda: console.get("/v1/alerts")["items"], "the next alert")
        assert [i["alert_id"] for i in items] == ["SHIPMENT_DELAY|SH-3"]
        counts = _consumed(console)
        # Refused by the database today; a stricter contract may refuse them when decoding.
        assert counts.get("unstorable", 0) + counts.get("undecodable", 0) == 2
        assert counts.get("new") == 1
        # And the consumer goes on.
        publisher.publish(alert(subject="SH-4"))
        wait_for(lambda: console.get("/v1/alerts")["total"] == 2, "the alert after")
        log = (state_dir / f"console-{console.runs}.log").read_text()
        assert "skipping alert" in log or "undecodable" in log
        assert huge_park not in log
    finally:
        console.stop()


def test_a_hanging_receiver_does_not_delay_another(
    kafka_bootstrap: str,
    topic_prefix: str,
    registry_url: str,
    state_dir: Path,
    publisher: Publisher,
) -> None:
    release = threading.Event()

    def hang(_headers: dict[str, str], _n: int) -> int:
        release.wait(300)
        return 200

    hanging, answering = Receiver(hang), Receiver(lambda _headers, _n: 200)
    env = console_env(kafka_bootstrap, topic_prefix, registry_url, state_dir)
    env["PARKLINK_WEBHOOK_TIMEOUT_S"] = "3600"  # the hang ends when the test says so
    console = new_console(env, state_dir)
    console.start()
    try:
        slow = console.post("/v1/webhooks", {"url": hanging.url})
        fast = console.post("/v1/webhooks", {"url": answering.url})
        publisher.publish(alert(subject="SH-1"))
        wait_for(lambda: hanging.arrived and len(answering.requests) == 1, "the first alert")
        publisher.publish(alert(subject="SH-2"))
        wait_for(lambda: len(answering.requests) == 2, "the second alert at the other receiver")
        # Meanwhile the first receiver still holds its first request: nothing recorded there.
        assert not release.is_set() and len(hanging.requests) == 0
        held = console.get(f"/v1/webhooks/{slow['webhook_id']}/deliveries")["items"]
        assert [(d["status"], d["attempts"]) for d in held] == [("pending", 0)] * 2
        done = console.get(f"/v1/webhooks/{fast['webhook_id']}/deliveries")["items"]
        assert [d["status"] for d in done] == ["delivered"] * 2
        release.set()
        wait_for(
            lambda: all(
                d["status"] == "delivered"
                for d in console.get(f"/v1/webhooks/{slow['webhook_id']}/deliveries")["items"]
            ),
            "the held deliveries once the receiver answers",
        )
        assert Counter(hanging.arrived) == Counter({d["delivery_id"]: 1 for d in held})
    finally:
        release.set()
        console.stop()
        hanging.close()
        answering.close()


def test_two_consoles_on_one_postgresql_deliver_each_alert_state_once(
    kafka_bootstrap: str,
    topic_prefix: str,
    registry_url: str,
    tmp_path: Path,
    postgres_url: str,
    publisher: Publisher,
) -> None:
    # Each delivery id's first request fails: its retry may be made by either console.
    first_seen: set[str] = set()
    lock = threading.Lock()

    def answer(headers: dict[str, str], _n: int) -> int:
        with lock:
            delivery = headers["X-ParkLink-Delivery"]
            if delivery in first_seen:
                return 200
            first_seen.add(delivery)
            return 503

    receiver = Receiver(answer)
    key = Fernet.generate_key().decode()  # both consoles open the same sealed secrets
    consoles = []
    for name in ("a", "b"):
        state = tmp_path / name
        state.mkdir()
        env = console_env(kafka_bootstrap, topic_prefix, registry_url, state)
        env["PARKLINK_DATABASE_URL"] = postgres_url
        env["PARKLINK_WEBHOOK_SECRET_KEY"] = key
        env["PARKLINK_WEBHOOK_BACKOFF_S"] = "0.05"
        consoles.append(new_console(env, state))
    try:
        for c in consoles:
            c.launch()
        for c in consoles:
            c.wait_ready()
        hook = consoles[0].post("/v1/webhooks", {"url": receiver.url})
        firing = [alert(subject=f"SH-{n}") for n in range(12)]
        states = firing + [resolved(a) for a in firing]
        publisher.publish(*states)
        expected = {delivery_id_of(hook["webhook_id"], s) for s in states}
        path = f"/v1/webhooks/{hook['webhook_id']}/deliveries"
        wait_for(
            lambda: (
                {d["delivery_id"] for d in consoles[1].get(path)["items"]} == expected
                and all(d["status"] == "delivered" for d in consoles[1].get(path)["items"])
            ),
            "every delivery delivered",
            timeout=120,
        )
    finally:
        for c in consoles:
            c.stop()  # nothing is in flight any more: every request is counted
        receiver.close()
    delivered = Counter(h["X-ParkLink-Delivery"] for h, _, code in receiver.delivered())
    print(f"states {len(states)}, requests {len(receiver.requests)}, delivered {len(delivered)}")
    assert set(delivered) == expected
    assert set(delivered.values()) == {1}
    bodies = {json.loads(b)["delivery_id"] for h, b, code in receiver.requests}
    assert bodies == expected
    # Both consoles read the topic; which one delivered is up to them.
    logs = [(c.state_dir / f"console-{c.runs}.log").read_text() for c in consoles]
    assert all("alerts consumer: reading" in log for log in logs)
