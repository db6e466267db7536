"""Opening the SQL databases of the services (the console's store, the token store) the same
way on SQLite (the default, a 0600 file in the state dir) and on PostgreSQL (shared by the
replicas of a service): URLs as the settings take them, engines, and the lock that lets one of
several replicas starting together migrate a schema while the others wait."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import make_url

from parklink.eventkit.private_files import private_dir, private_sqlite


def engine_url(url: str) -> str:
    """The SQLAlchemy URL to open for a setting's URL: PostgreSQL URLs (postgresql://,
    postgres://) get the psycopg 3 driver; others are left as they are."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_private(url: str) -> None:
    """A SQLite file is created 0600 in a 0700 directory before SQLite opens it (and an older
    one narrowed); other databases guard themselves."""
    path = sqlite_path(url)
    if path is not None:
        private_dir(path.parent)
        private_sqlite(path)


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


def serialize_migration(conn: Connection, key: int) -> None:
    """On PostgreSQL, hold the transaction-scoped advisory lock `key` until `conn`'s
    transaction ends: replicas that start together migrate one after the other (without it,
    two created the same table and one failed). SQLite serializes writers by itself."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(key)))
