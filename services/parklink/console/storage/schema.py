"""The console database's tables and the numbered migrations that build and upgrade them;
one SQLAlchemy Core schema that runs on SQLite (default) and PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import make_url

from parklink.console.query import to_ms

log = logging.getLogger(__name__)

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", BigInteger, nullable=False),
)
alerts = Table(
    "alerts",
    metadata,
    Column("alert_id", String(300), primary_key=True),
    Column("type", Text, nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("corridor", Text, index=True),
    Column("started_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False, index=True),
    Column("resolved_at", BigInteger),
    Column("received_at", BigInteger, nullable=False),
    Column("doc", JSON, nullable=False),
)
alert_parks = Table(
    "alert_parks",
    metadata,
    Column("alert_id", String(300), primary_key=True),
    Column("park", Text, primary_key=True, index=True),
)
history = Table(
    "alert_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(300), nullable=False, index=True),
    Column("updated_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("received_at", BigInteger, nullable=False),
    Column("doc", JSON, nullable=False),
    UniqueConstraint("alert_id", "updated_at", "status", "severity", name="uq_history_state"),
)
acks = Table(
    "acks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(300), nullable=False, index=True),
    Column("by", Text, nullable=False),
    Column("at", BigInteger, nullable=False),
    Column("comment", Text, nullable=False),
)
silences = Table(
    "silences",
    metadata,
    Column("silence_id", String(36), primary_key=True),
    Column("matchers", JSON, nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False, index=True),
)
webhooks = Table(
    "webhooks",
    metadata,
    Column("webhook_id", String(36), primary_key=True),
    Column("url", Text, nullable=False),
    Column("secret", Text, nullable=False),
    Column("matchers", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("park", Text),
)
deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", String(36), primary_key=True),
    Column("webhook_id", String(36), nullable=False, index=True),
    Column("alert_id", String(300), nullable=False),
    Column("event", String(32), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", BigInteger),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("delivered_at", BigInteger),
    Column("claim", String(36)),
)
events = Table(
    "alert_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", String(300), nullable=False),
    Column("event", String(32), nullable=False),
    Column("parks", JSON, nullable=False),
    Column("doc", JSON, nullable=False),
    Column("at", BigInteger, nullable=False),
)
"""What operators were told, in order: the stream's event ids, so a client that reconnects
with `Last-Event-ID` gets exactly what it missed."""
audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False, index=True),
    Column("actor", Text, nullable=False),
    Column("role", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("details", JSON, nullable=False),
)
offsets = Table(
    "consumer_offsets",
    metadata,
    Column("topic", String(255), primary_key=True),
    Column("partition", Integer, primary_key=True, autoincrement=False),
    Column("next_offset", BigInteger, nullable=False),
)


def _v1(conn: Connection) -> None:
    for table in (alerts, alert_parks, history, acks, silences, webhooks, deliveries, offsets):
        table.create(conn)


# Names the contract and the tokens leave unbounded; databases created at version 1 before
# these columns were TEXT have them as VARCHAR(64) or VARCHAR(200).
UNBOUNDED = [
    (alerts, "type"),
    (alerts, "corridor"),
    (alert_parks, "park"),
    (acks, "by"),
    (silences, "created_by"),
    (webhooks, "created_by"),
]


def _v2(conn: Connection) -> None:
    """PostgreSQL enforces VARCHAR(n), SQLite does not: one alert with a longer type, corridor
    or park id failed its whole consumed batch on PostgreSQL, over and over, and a long
    operator name failed acks. Those columns become TEXT (nothing to do on SQLite)."""
    if conn.dialect.name != "postgresql":
        return
    quote = conn.dialect.identifier_preparer.quote
    for table, column in UNBOUNDED:
        conn.exec_driver_sql(
            f"ALTER TABLE {quote(table.name)} ALTER COLUMN {quote(column)} TYPE TEXT"
        )


def _v3(conn: Connection) -> None:
    """Park-scoped webhooks, encrypted webhook secrets (longer than the plain ones), the
    stream's event log and the audit trail."""
    quote = conn.dialect.identifier_preparer.quote
    have = {c["name"] for c in inspect(conn).get_columns(webhooks.name)}
    if "park" not in have:
        conn.exec_driver_sql(f"ALTER TABLE {quote(webhooks.name)} ADD COLUMN park TEXT")
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE {quote(webhooks.name)} ALTER COLUMN secret TYPE TEXT")
    events.create(conn, checkfirst=True)
    audit.create(conn, checkfirst=True)


def _v4(conn: Connection) -> None:
    """Deliveries claimed by one console at a time: the claim names the dispatcher that sends
    the delivery until it records the outcome (or its lease runs out)."""
    have = {c["name"] for c in inspect(conn).get_columns(deliveries.name)}
    if "claim" not in have:
        quote = conn.dialect.identifier_preparer.quote
        conn.exec_driver_sql(f"ALTER TABLE {quote(deliveries.name)} ADD COLUMN claim VARCHAR(36)")


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4]
"""Schema version n is reached by running MIGRATIONS[n-1]; only ever append."""

MIGRATION_LOCK = 0x5041524B4C494E4B  # pg_advisory_xact_lock key ("PARKLINK")
EVENTS_LOCK = 0x504C4B4556454E54  # ("PLKEVENT"): event ids commit in the order they are taken


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def open_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def migrate(engine: Engine) -> int:
    """Bring the schema to the latest version; returns that version."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Consoles sharing a database may start together: one migrates, the others wait
            # (without the lock, both created schema_version and one failed).
            conn.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK)))
        schema_version.create(conn, checkfirst=True)
        current = conn.execute(select(func.max(schema_version.c.version))).scalar() or 0
        for version in range(current + 1, len(MIGRATIONS) + 1):
            log.info("database: migrating to schema version %d", version)
            MIGRATIONS[version - 1](conn)
            conn.execute(insert(schema_version).values(version=version, applied_at=now_ms()))
    return len(MIGRATIONS)


def now_ms() -> int:
    return to_ms(datetime.now(UTC))


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
