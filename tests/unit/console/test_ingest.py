"""Storing consumed alerts on SQLite and on PostgreSQL: an alert the database refuses is
counted and skipped and the batch around it is stored; a database that cannot answer stores
nothing and skips nothing (the consumer reads the batch again)."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from factories import alert
from pgserver import Databases
from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError, OperationalError

from parklink.console.config import ConsoleSettings
from parklink.console.ingest import store_records
from parklink.console.runtime import ConsoleMetrics
from parklink.console.sealing import SecretBox
from parklink.console.storage import AlertStore, Incoming
from parklink.console.storage.faults import describe, refuses_data
from parklink.eventkit.contracts import DisruptionAlert
from parklink.eventkit.lifecycle import free_port

OpenStore = Callable[[str], AlertStore]


def _unchecked(base: DisruptionAlert, **fields: object) -> DisruptionAlert:
    """An alert with fields the contract may refuse (model_copy does not validate): what a
    producer that skips the contract could put on the topic."""
    return base.model_copy(update=fields)


def _stored_ids(store: AlertStore) -> set[str]:
    with store.engine.connect() as conn:
        return {r[0] for r in conn.exec_driver_sql("SELECT alert_id FROM alerts")}


# The unchecked status is not an enum member; pydantic warns when it dumps it.
@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings:UserWarning")
def test_refused_alerts_are_counted_and_skipped_and_the_rest_is_stored(
    open_store: OpenStore, database_url: str
) -> None:
    store = open_store(database_url)
    metrics = ConsoleMetrics.create(CollectorRegistry())
    postgres = store.engine.dialect.name == "postgresql"
    # Random capitals do not compress: far beyond what one btree index entry can hold.
    huge_park = "".join(secrets.choice(string.ascii_uppercase) for _ in range(20_000))
    records = [
        alert(subject="SH-1"),
        _unchecked(alert(subject="SH-2"), alert_id="SHIPMENT_DELAY|SH-\x00"),
        _unchecked(alert(subject="SH-3"), status="NOT-A-STATUS"),
        _unchecked(alert(subject="SH-4"), parks=[huge_park]),
        alert(subject="SH-5"),
    ]
    incoming = [Incoming(a, 0, offset) for offset, a in enumerate(records)]
    applied = store_records(store, "alerts", incoming, metrics.consumed)

    refused_here = {"SHIPMENT_DELAY|SH-\x00", "SHIPMENT_DELAY|SH-4"} if postgres else set()
    expected = {"SHIPMENT_DELAY|SH-1", "SHIPMENT_DELAY|SH-5"}
    if not postgres:  # SQLite stores NUL and long values
        expected |= {"SHIPMENT_DELAY|SH-\x00", "SHIPMENT_DELAY|SH-4"}
    assert _stored_ids(store) == expected
    assert {a.alert.alert_id for a in applied} == expected
    unstorable = metrics.consumed.labels(outcome="unstorable")._value.get()
    assert unstorable == 1 + len(refused_here)
    assert store.next_offsets("alerts") == {0: 5}

    # The next batch goes on from there as usual.
    store_records(store, "alerts", [Incoming(alert(subject="SH-6"), 0, 5)], metrics.consumed)
    assert "SHIPMENT_DELAY|SH-6" in _stored_ids(store)
    assert store.next_offsets("alerts") == {0: 6}


def test_an_unreachable_database_skips_nothing() -> None:
    url = f"postgresql+psycopg://nobody:pw@127.0.0.1:{free_port()}/none?connect_timeout=2"
    store = AlertStore(create_engine(url), SecretBox.generate())
    metrics = ConsoleMetrics.create(CollectorRegistry())
    try:
        with pytest.raises(OperationalError) as caught:
            store_records(store, "alerts", [Incoming(alert(), 0, 0)], metrics.consumed)
    finally:
        store.close()
    assert not refuses_data(caught.value)
    assert metrics.consumed.labels(outcome="unstorable")._value.get() == 0


def test_the_reason_logged_on_postgresql_leaves_out_the_refused_data(
    postgres_databases: Databases,
) -> None:
    url = postgres_databases.create()
    store = AlertStore.open(ConsoleSettings(database_url=url).database(), SecretBox.generate())
    bad = _unchecked(alert(), alert_id="SHIPMENT_DELAY|SH-\x00" + "x" * 5000)
    try:
        with pytest.raises(DBAPIError) as caught:
            store.apply("alerts", [Incoming(bad, 0, 0)], datetime.now(UTC))
    finally:
        store.close()
        postgres_databases.drop(url)
    assert refuses_data(caught.value)
    reason = describe(caught.value)
    assert "x" * 100 not in reason
    assert len(reason) < 400
