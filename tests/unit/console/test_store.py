"""The data layer on real storage: every test runs on SQLite and on PostgreSQL (see
conftest.py), each on a fresh, empty database."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from factories import T0, alert, resolved
from pgserver import Databases
from sqlalchemy import insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from parklink.console.config import ConsoleSettings
from parklink.console.matching import Matchers
from parklink.console.query import Cursor, parse_query
from parklink.console.sealing import SecretBox
from parklink.console.storage import AlertStore, Incoming
from parklink.console.storage.schema import (
    MIGRATIONS,
    UNBOUNDED,
    history,
    migrate,
    open_engine,
    schema_version,
)
from parklink.eventkit.contracts import Severity

TOPIC = "alliance.alerts.v1"
TABLES = {
    "schema_version",
    "alerts",
    "alert_parks",
    "alert_history",
    "acks",
    "silences",
    "webhooks",
    "webhook_deliveries",
    "consumer_offsets",
    "alert_events",
    "audit",
}

OpenStore = Callable[[str], AlertStore]


def _records(*alerts: object, partition: int = 0) -> list[Incoming]:
    return [Incoming(a, partition, i) for i, a in enumerate(alerts)]  # type: ignore[arg-type]


def test_firing_then_resolved_keeps_history_and_replays_add_nothing(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    firing = alert()
    worse = alert(severity="CRITICAL", updated_at=T0 + timedelta(hours=2))
    done = resolved(worse)
    recs = _records(firing, worse, done)
    first = store.apply(TOPIC, recs, datetime.now(UTC))
    assert [a.new_transition for a in first] == [True, True, True]
    replay = store.apply(TOPIC, recs, datetime.now(UTC))
    assert not any(a.new_transition for a in replay)
    view = store.get_alert(firing.alert_id, datetime.now(UTC))
    assert view is not None
    assert view["status"] == "RESOLVED"
    assert [(h["status"], h["severity"]) for h in view["history"]] == [
        ("FIRING", "WARNING"),
        ("FIRING", "CRITICAL"),
        ("RESOLVED", "CRITICAL"),
    ]
    assert store.next_offsets(TOPIC) == {0: 3}


def test_a_late_older_state_goes_to_history_but_not_current(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    firing = alert()
    done = resolved(firing)
    applied = store.apply(TOPIC, _records(done, firing), datetime.now(UTC))
    assert [a.current for a in applied] == [True, False]
    assert not applied[1].pushed
    view = store.get_alert(firing.alert_id, datetime.now(UTC))
    assert view is not None and view["status"] == "RESOLVED"
    assert len(view["history"]) == 2


def test_rebuilding_from_the_same_records_gives_the_same_current_state(
    open_store: OpenStore, new_database: Callable[[], str]
) -> None:
    recs = _records(
        alert(),
        alert(subject="SH-2", corridor=None, parks=["UZ-TAS-NAVOI"]),
        resolved(alert()),
        alert(type="PARK_SILENT", subject="PK-ISB-SEZ", severity="CRITICAL", corridor=None),
    )
    now = datetime.now(UTC)
    states = []
    for _ in range(2):
        store = open_store(new_database())
        store.apply(TOPIC, recs, now)
        items, _, _total = store.list_alerts(parse_query(limit=100), now)
        states.append(items)
        store.close()
    assert states[0] == states[1]
    assert len(states[0]) == 3


def test_migrations_are_idempotent(open_store: OpenStore, database_url: str) -> None:
    store = open_store(database_url)
    store.apply(TOPIC, _records(alert()), datetime.now(UTC))
    store.close()
    again = open_store(database_url)
    assert again.get_alert("SHIPMENT_DELAY|SH-1", datetime.now(UTC)) is not None


def test_migrations_build_the_schema_on_an_empty_database(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    assert set(inspect(store.engine).get_table_names()) == TABLES
    with store.engine.connect() as conn:
        versions = conn.execute(select(schema_version.c.version)).scalars().all()
    assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    assert migrate(store.engine) == len(MIGRATIONS)
    with store.engine.connect() as conn:
        assert len(conn.execute(select(schema_version)).all()) == len(MIGRATIONS)


def test_the_history_refuses_a_second_copy_of_a_state(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    store.apply(TOPIC, _records(alert()), datetime.now(UTC))
    duplicate = {
        "alert_id": "SHIPMENT_DELAY|SH-1",
        "updated_at": int(T0.timestamp() * 1000),
        "status": "FIRING",
        "severity": "WARNING",
        "received_at": 0,
        "doc": {},
    }
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(history).values(**duplicate))
    with store.engine.begin() as conn:  # another severity is another state
        conn.execute(insert(history).values(**{**duplicate, "severity": "CRITICAL"}))


def test_paging_with_equal_update_times_and_filters(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    subjects = ["SH-b", "SH-a", "SH-C", "SH-10", "SH-9"]
    store.apply(TOPIC, _records(*(alert(subject=s) for s in subjects)), datetime.now(UTC))
    store.apply(
        TOPIC,
        _records(resolved(alert(subject="SH-x")), alert(subject="SH-y", corridor=None)),
        datetime.now(UTC),
    )
    now = datetime.now(UTC)
    seen: list[str] = []
    cursor: Cursor | None = None
    while True:
        query = parse_query(limit=2, status="FIRING", corridor="QD-KHR-ALA-RAIL")
        if cursor is not None:
            query = parse_query(
                limit=2, status="FIRING", corridor="QD-KHR-ALA-RAIL", cursor=cursor.encode()
            )
        items, cursor, total = store.list_alerts(query, now)
        assert total == 5
        seen += [i["alert_id"] for i in items]
        if cursor is None:
            break
    assert sorted(seen) == sorted(f"SHIPMENT_DELAY|{s}" for s in subjects)
    assert len(seen) == len(set(seen))
    since = parse_query(since=(T0 + timedelta(hours=1)).isoformat())
    assert [i["alert_id"] for i in store.list_alerts(since, now)[0]] == ["SHIPMENT_DELAY|SH-x"]


def test_acks_and_silences(open_store: OpenStore, database_url: str) -> None:
    store = open_store(database_url)
    now = datetime.now(UTC).replace(microsecond=0)  # the store keeps milliseconds
    store.apply(TOPIC, _records(alert()), now)
    assert store.ack("SHIPMENT_DELAY|NOPE", "alice", "", now) is None
    first = store.ack("SHIPMENT_DELAY|SH-1", "alice", "looking", now)
    second = store.ack("SHIPMENT_DELAY|SH-1", "bob", "rerouted", now + timedelta(seconds=1))
    assert first is not None and second is not None
    assert isinstance(first["ack_id"], int) and second["ack_id"] > first["ack_id"]
    view = store.get_alert("SHIPMENT_DELAY|SH-1", now)
    assert view is not None
    assert [a["by"] for a in view["acks"]] == ["alice", "bob"]
    assert view["last_ack"]["comment"] == "rerouted"

    silence = store.create_silence(
        Matchers(corridor="QD-KHR-ALA-RAIL", severity=Severity.WARNING),
        now + timedelta(hours=1),
        "drill",
        "alice",
        now,
    )
    assert store.get_silence(silence.silence_id) == silence
    view = store.get_alert("SHIPMENT_DELAY|SH-1", now)
    assert view is not None
    assert view["silenced_by"] == silence.silence_id
    [applied] = store.apply(TOPIC, [Incoming(alert(subject="SH-2"), 0, 1)], now)
    assert applied.silenced_by == silence.silence_id and not applied.pushed
    assert store.expire_silence(silence.silence_id, now + timedelta(minutes=1))
    assert not store.expire_silence("no-such-silence", now)
    later = now + timedelta(minutes=2)
    assert store.list_silences(later) == []
    assert [s.silence_id for s in store.list_silences(later, include_expired=True)] == [
        silence.silence_id
    ]


def test_a_pending_delivery_survives_a_restart(open_store: OpenStore, database_url: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # the store keeps milliseconds
    store = open_store(database_url)
    hook = store.create_webhook("http://receiver.test/hook", None, Matchers(), "", "ops", now)
    store.apply(TOPIC, _records(alert()), now)
    [due] = store.claim_deliveries(now, "console-1", 60)
    retry_at = now + timedelta(minutes=10)
    status = store.record_attempt(
        due.delivery_id,
        "console-1",
        now,
        delivered=False,
        status_code=503,
        error="503",
        retry_at=retry_at,
    )
    assert status == "pending"
    store.close()

    store = open_store(database_url)  # a restarted console
    assert store.claim_deliveries(now, "console-2", 60) == []
    assert store.next_due_at() == retry_at
    # Replaying the topic after the restart queues nothing new.
    assert [a.new_transition for a in store.apply(TOPIC, _records(alert()), now)] == [False]
    [again] = store.claim_deliveries(retry_at, "console-2", 60)
    assert (again.delivery_id, again.attempts, again.body) == (due.delivery_id, 1, due.body)
    assert again.secret == hook["secret"]
    store.record_attempt(
        again.delivery_id,
        "console-2",
        retry_at,
        delivered=True,
        status_code=204,
        error=None,
        retry_at=None,
    )
    store.close()

    store = open_store(database_url)
    assert store.claim_deliveries(retry_at + timedelta(days=1), "console-3", 60) == []
    assert store.next_due_at() is None
    [done] = store.list_deliveries(hook["webhook_id"])
    assert (done["status"], done["attempts"], done["last_status_code"]) == ("delivered", 2, 204)
    assert store.delivery_counts() == {"delivered": 1}


def test_names_longer_than_the_first_schema_allowed(
    open_store: OpenStore, database_url: str
) -> None:
    """PostgreSQL enforces VARCHAR lengths, SQLite does not; the contract bounds none of these."""
    store = open_store(database_url)
    corridor, park, kind = "C" * 100, "P" * 100, "LONG_" + "X" * 80
    now = datetime.now(UTC)
    long_one = alert(type=kind, corridor=corridor, parks=[park, "KZ-ALA-IPA"])
    [applied] = store.apply(TOPIC, _records(long_one), now)
    assert applied.pushed
    for query in (parse_query(park=park), parse_query(corridor=corridor), parse_query(type=kind)):
        assert [i["alert_id"] for i in store.list_alerts(query, now)[0]] == [long_one.alert_id]
    operator = "o" * 250
    assert store.ack(long_one.alert_id, operator, "", now) is not None
    assert store.create_silence(Matchers(park="KZ-ALA-IPA"), now, "", operator, now)
    assert store.create_webhook("http://x.test/", None, Matchers(), "", operator, now)


def test_concurrent_consoles_migrate_a_new_postgresql_database_once(
    postgres_databases: Databases,
) -> None:
    url = postgres_databases.create()
    engines = [open_engine(ConsoleSettings(database_url=url).database()) for _ in range(4)]
    start = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            migrate(engines[index])
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(engines))]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with engines[0].connect() as conn:
            versions = conn.execute(select(schema_version.c.version)).scalars().all()
        assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
    finally:
        for engine in engines:
            engine.dispose()
        postgres_databases.drop(url)


def test_upgrade_from_version_1_widens_the_name_columns_on_postgresql(
    postgres_databases: Databases,
) -> None:
    url = postgres_databases.create()
    engine = open_engine(ConsoleSettings(database_url=url).database())
    try:
        migrate(engine)
        with engine.begin() as conn:  # back to what version 1 used to create
            for table, column in UNBOUNDED:
                size = 64 if table.name in {"alerts", "alert_parks"} else 200
                conn.execute(
                    text(f'ALTER TABLE {table.name} ALTER COLUMN "{column}" TYPE VARCHAR({size})')
                )
            conn.execute(text("DELETE FROM schema_version WHERE version > 1"))
        migrate(engine)
        with engine.connect() as conn:
            types = {
                (table.name, column): conn.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns "
                        "WHERE table_name = :t AND column_name = :c"
                    ),
                    {"t": table.name, "c": column},
                ).scalar_one()
                for table, column in UNBOUNDED
            }
        assert set(types.values()) == {"text"}, types
        store = AlertStore(engine, SecretBox.generate())
        store.apply(TOPIC, _records(alert(corridor="C" * 100)), datetime.now(UTC))
    finally:
        engine.dispose()
        postgres_databases.drop(url)
