"""The stream's event log: each update operators were told of (a new alert state, a new
acknowledgement) gets the next event id. A stream sends what is past the last id it sent, so
a client reconnecting with `Last-Event-ID` receives exactly what it missed, once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select

from parklink.console.query import to_ms
from parklink.console.storage.schema import EVENTS_LOCK, events

KEEP = 10_000
"""Events kept for reconnecting clients; one that missed more reloads instead."""


@dataclass(frozen=True)
class StreamEvent:
    seq: int
    event: str
    parks: list[str]
    data: dict[str, Any]


def serialize_events(conn: Connection) -> None:
    """Event ids must become visible in the order they are taken: on PostgreSQL, writers of
    events take turns for the rest of their transaction (SQLite has one writer anyway)."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(func.pg_advisory_xact_lock(EVENTS_LOCK)))


def push(conn: Connection, event: str, view: dict[str, Any], now: datetime) -> None:
    """Log an update (call `serialize_events` first in the same transaction)."""
    conn.execute(
        insert(events).values(
            alert_id=view["alert_id"],
            event=event,
            parks=list(view.get("parks", [])),
            doc=view,
            at=to_ms(now),
        )
    )


def prune(conn: Connection) -> None:
    last = conn.execute(select(func.max(events.c.seq))).scalar()
    if last is not None and last > KEEP:
        conn.execute(delete(events).where(events.c.seq <= int(last) - KEEP))


class EventLog:
    engine: Engine

    def last_event_id(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.max(events.c.seq))).scalar() or 0)

    def events_after(self, seq: int, limit: int = 500) -> tuple[list[StreamEvent], bool]:
        """Up to `limit` events after `seq`, oldest first, and whether every event after
        `seq` is still kept (False: the client missed more than the log holds)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events.c.seq, events.c.event, events.c.parks, events.c.doc)
                .where(events.c.seq > seq)
                .order_by(events.c.seq)
                .limit(limit)
            ).all()
            first = conn.execute(select(func.min(events.c.seq))).scalar()
            last = conn.execute(select(func.max(events.c.seq))).scalar()
        newest = int(last or 0)
        # Past the newest: the database was rebuilt. Before the oldest kept: pruned.
        complete = seq <= newest and (first is None or int(first) <= seq + 1)
        return [StreamEvent(int(s), e, list(p), d) for s, e, p, d in rows], complete
