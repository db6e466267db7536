"""The console's data layer: current state, history, acknowledgements, silences, webhook
subscriptions and deliveries, and the consumed offsets of the alerts topic — one SQLAlchemy
Core schema that runs on SQLite (default) and PostgreSQL, upgraded by numbered migrations.

Consuming a batch of records is one transaction: state, history, the webhook deliveries it
causes and the next offsets commit together, so a restart neither loses nor repeats them."""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
    and_,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.engine import make_url

from parklink.console.matching import Matchers, Silence, silenced_by
from parklink.console.query import AlertQuery, Cursor, Span, supersedes, to_ms
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert, Severity

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
    Column("secret", String(200), nullable=False),
    Column("matchers", JSON, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
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


MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2]
"""Schema version n is reached by running MIGRATIONS[n-1]; only ever append."""

MIGRATION_LOCK = 0x5041524B4C494E4B  # pg_advisory_xact_lock key ("PARKLINK")

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


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
            conn.execute(insert(schema_version).values(version=version, applied_at=_now_ms()))
    return len(MIGRATIONS)


def _now_ms() -> int:
    return to_ms(datetime.now(UTC))


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Incoming:
    """One record consumed from the alerts topic."""

    alert: DisruptionAlert
    partition: int
    offset: int


@dataclass(frozen=True)
class Applied:
    alert: DisruptionAlert
    new_transition: bool
    """A state not seen before (replays of a known state are not)."""
    current: bool
    """It became the alert's current state (an older, late state does not)."""
    silenced_by: str | None
    deliveries: int

    @property
    def pushed(self) -> bool:
        """Operators and webhooks hear of it: a new current state that no silence covers."""
        return self.new_transition and self.current and self.silenced_by is None


@dataclass(frozen=True)
class Facts:
    """The matchable fields of a stored alert."""

    alert_id: str
    type: str
    severity: Severity
    corridor: str | None
    parks: Sequence[str]

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Facts:
        return cls(
            doc["alert_id"],
            doc["type"],
            Severity(doc["severity"]),
            doc.get("corridor"),
            tuple(doc.get("parks", ())),
        )


@dataclass(frozen=True)
class DueDelivery:
    delivery_id: str
    webhook_id: str
    url: str
    secret: str
    event: str
    body: str
    attempts: int


def webhook_event(alert: DisruptionAlert) -> str:
    return "alert." + alert.status.value.lower()


class AlertStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> AlertStore:
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- consuming ---------------------------------------------------------------------------

    def next_offsets(self, topic: str) -> dict[int, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(offsets.c.partition, offsets.c.next_offset).where(offsets.c.topic == topic)
            )
            return {int(p): int(o) for p, o in rows}

    def apply(self, topic: str, records: Sequence[Incoming], now: datetime) -> list[Applied]:
        """Store a batch of consumed alerts and advance the offsets, in one transaction."""
        received = to_ms(now)
        out: list[Applied] = []
        with self.engine.begin() as conn:
            active = self._silences(conn, now, include_expired=False)
            hooks = conn.execute(select(webhooks.c.webhook_id, webhooks.c.matchers)).all()
            next_offsets: dict[int, int] = {}
            for rec in records:
                out.append(self._apply_one(conn, rec.alert, received, now, active, hooks))
                next_offsets[rec.partition] = max(
                    next_offsets.get(rec.partition, 0), rec.offset + 1
                )
            self._advance(conn, topic, next_offsets)
        return out

    def advance(self, topic: str, next_offsets: dict[int, int]) -> None:
        """Move past records that carry no alert (tombstones, undecodable values)."""
        with self.engine.begin() as conn:
            self._advance(conn, topic, next_offsets)

    def _advance(self, conn: Connection, topic: str, next_offsets: dict[int, int]) -> None:
        for partition, nxt in next_offsets.items():
            done = conn.execute(
                update(offsets)
                .where(offsets.c.topic == topic, offsets.c.partition == partition)
                .values(next_offset=nxt)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(offsets).values(topic=topic, partition=partition, next_offset=nxt)
                )

    def _apply_one(
        self,
        conn: Connection,
        alert: DisruptionAlert,
        received: int,
        now: datetime,
        active: list[Silence],
        hooks: Sequence[Any],
    ) -> Applied:
        doc = alert.to_json()
        updated = to_ms(alert.updated_at)
        seen = conn.execute(
            select(history.c.id).where(
                history.c.alert_id == alert.alert_id,
                history.c.updated_at == updated,
                history.c.status == alert.status.value,
                history.c.severity == alert.severity.value,
            )
        ).first()
        if seen is None:
            conn.execute(
                insert(history).values(
                    alert_id=alert.alert_id,
                    updated_at=updated,
                    status=alert.status.value,
                    severity=alert.severity.value,
                    received_at=received,
                    doc=doc,
                )
            )
        row = conn.execute(
            select(alerts.c.updated_at, alerts.c.status).where(alerts.c.alert_id == alert.alert_id)
        ).first()
        current = supersedes(
            None if row is None else (int(row[0]), AlertStatus(row[1])), updated, alert.status
        )
        if current:
            values = {
                "type": alert.type,
                "severity": alert.severity.value,
                "status": alert.status.value,
                "corridor": alert.corridor,
                "started_at": to_ms(alert.started_at),
                "updated_at": updated,
                "resolved_at": None if alert.resolved_at is None else to_ms(alert.resolved_at),
                "received_at": received,
                "doc": doc,
            }
            if row is None:
                conn.execute(insert(alerts).values(alert_id=alert.alert_id, **values))
            else:
                conn.execute(
                    update(alerts).where(alerts.c.alert_id == alert.alert_id).values(**values)
                )
            conn.execute(delete(alert_parks).where(alert_parks.c.alert_id == alert.alert_id))
            for park in sorted(set(alert.parks)):
                conn.execute(insert(alert_parks).values(alert_id=alert.alert_id, park=park))
        silence = silenced_by(active, alert, now)
        applied = Applied(
            alert, seen is None, current, None if silence is None else silence.silence_id, 0
        )
        if not applied.pushed:
            return applied
        count = 0
        for webhook_id, matchers in hooks:
            if Matchers.model_validate(matchers).matches(alert):
                self._enqueue(conn, webhook_id, alert, received)
                count += 1
        return Applied(alert, True, True, None, count)

    def _enqueue(
        self, conn: Connection, webhook_id: str, alert: DisruptionAlert, received: int
    ) -> None:
        delivery_id = str(uuid.uuid4())
        event_name = webhook_event(alert)
        body = json.dumps(
            {
                "delivery_id": delivery_id,
                "webhook_id": webhook_id,
                "event": event_name,
                "alert": alert.to_json(),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        conn.execute(
            insert(deliveries).values(
                delivery_id=delivery_id,
                webhook_id=webhook_id,
                alert_id=alert.alert_id,
                event=event_name,
                body=body,
                status=PENDING,
                attempts=0,
                next_attempt_at=received,
                created_at=received,
                updated_at=received,
            )
        )

    # -- alerts ------------------------------------------------------------------------------

    def list_alerts(
        self, query: AlertQuery, now: datetime
    ) -> tuple[list[dict[str, Any]], Cursor | None, int]:
        """One page of alerts (newest update first), the cursor of the next page, the total."""
        conds: list[Any] = []
        if query.statuses:
            conds.append(alerts.c.status.in_([s.value for s in query.statuses]))
        if query.types:
            conds.append(alerts.c.type.in_(query.types))
        if query.severities:
            conds.append(alerts.c.severity.in_([s.value for s in query.severities]))
        if query.corridor:
            conds.append(alerts.c.corridor == query.corridor)
        if query.since_ms is not None:
            conds.append(alerts.c.updated_at >= query.since_ms)
        if query.park:
            conds.append(
                exists().where(
                    alert_parks.c.alert_id == alerts.c.alert_id, alert_parks.c.park == query.park
                )
            )
        page_conds = list(conds)
        if query.cursor is not None:
            c = query.cursor
            page_conds.append(
                or_(
                    alerts.c.updated_at < c.updated_at_ms,
                    and_(alerts.c.updated_at == c.updated_at_ms, alerts.c.alert_id > c.alert_id),
                )
            )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.doc, alerts.c.received_at, alerts.c.updated_at)
                .where(*page_conds)
                .order_by(alerts.c.updated_at.desc(), alerts.c.alert_id.asc())
                .limit(query.limit + 1)
            ).all()
            total = int(
                conn.execute(select(func.count()).select_from(alerts).where(*conds)).scalar_one()
            )
            page = rows[: query.limit]
            items = self._views(conn, [(r[0], int(r[1])) for r in page], now)
        next_cursor = None
        if len(rows) > query.limit:
            last = page[-1]
            next_cursor = Cursor(int(last[2]), last[0]["alert_id"])
        return items, next_cursor, total

    def get_alert(self, alert_id: str, now: datetime) -> dict[str, Any] | None:
        """The alert's current state with its history (oldest first) and acknowledgements."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(alerts.c.doc, alerts.c.received_at).where(alerts.c.alert_id == alert_id)
            ).first()
            if row is None:
                return None
            view = self._views(conn, [(row[0], int(row[1]))], now)[0]
            view["history"] = [
                {
                    "status": h.status,
                    "severity": h.severity,
                    "updated_at": _iso(h.updated_at),
                    "received_at": _iso(h.received_at),
                    "summary": h.doc["summary"],
                    "metrics": h.doc["metrics"],
                    "impacted_orders": len(h.doc["impacted_orders"]),
                    "impacted_shipments": len(h.doc["impacted_shipments"]),
                }
                for h in conn.execute(
                    select(history)
                    .where(history.c.alert_id == alert_id)
                    .order_by(history.c.updated_at, history.c.id)
                )
            ]
            view["acks"] = [
                _ack_view(a)
                for a in conn.execute(
                    select(acks).where(acks.c.alert_id == alert_id).order_by(acks.c.at, acks.c.id)
                )
            ]
        return view

    def alert_view(self, alert_id: str, now: datetime) -> dict[str, Any] | None:
        """The alert as the list and the stream show it."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(alerts.c.doc, alerts.c.received_at).where(alerts.c.alert_id == alert_id)
            ).first()
            return None if row is None else self._views(conn, [(row[0], int(row[1]))], now)[0]

    def views_of(self, alert_ids: Sequence[str], now: datetime) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.doc, alerts.c.received_at).where(alerts.c.alert_id.in_(alert_ids))
            ).all()
            return self._views(conn, [(r[0], int(r[1])) for r in rows], now)

    def _views(
        self, conn: Connection, rows: Sequence[tuple[dict[str, Any], int]], now: datetime
    ) -> list[dict[str, Any]]:
        ids = [doc["alert_id"] for doc, _ in rows]
        last_ack: dict[str, Any] = {}
        if ids:
            for a in conn.execute(
                select(acks).where(acks.c.alert_id.in_(ids)).order_by(acks.c.at, acks.c.id)
            ):
                last_ack[a.alert_id] = a
        active = self._silences(conn, now, include_expired=False)
        out = []
        for doc, received in rows:
            ack = last_ack.get(doc["alert_id"])
            silence = silenced_by(active, Facts.of(doc), now)
            out.append(
                {
                    **doc,
                    "received_at": _iso(received),
                    # An acknowledgement holds until the alert changes again.
                    "acknowledged": ack is not None and ack.at >= received,
                    "last_ack": None if ack is None else _ack_view(ack),
                    "silenced_by": None if silence is None else silence.silence_id,
                }
            )
        return out

    def ack(self, alert_id: str, by: str, comment: str, now: datetime) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            known = conn.execute(
                select(alerts.c.alert_id).where(alerts.c.alert_id == alert_id)
            ).first()
            if known is None:
                return None
            values = {"alert_id": alert_id, "by": by, "at": to_ms(now), "comment": comment}
            ack_id = conn.execute(insert(acks).values(**values)).inserted_primary_key
        return {"ack_id": ack_id[0] if ack_id else None, **_ack_view_values(values)}

    def counts_by_state(self) -> dict[tuple[str, str], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.status, alerts.c.severity, func.count()).group_by(
                    alerts.c.status, alerts.c.severity
                )
            )
            return {(str(s), str(v)): int(n) for s, v, n in rows}

    def spans(self, start_ms: int, end_ms: int) -> list[Span]:
        """Firing intervals of the alerts that fired at some time in [start, end)."""
        ended = func.coalesce(alerts.c.resolved_at, alerts.c.updated_at)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.started_at, alerts.c.status, ended, alerts.c.severity).where(
                    alerts.c.started_at < end_ms,
                    or_(alerts.c.status == AlertStatus.FIRING.value, ended >= start_ms),
                )
            )
            return [
                Span(int(s), None if st == AlertStatus.FIRING.value else int(e), Severity(sev))
                for s, st, e, sev in rows
            ]

    # -- silences ----------------------------------------------------------------------------

    def _silences(self, conn: Connection, now: datetime, include_expired: bool) -> list[Silence]:
        stmt = select(silences).order_by(silences.c.created_at)
        if not include_expired:
            stmt = stmt.where(silences.c.expires_at > to_ms(now))
        return [_silence(r) for r in conn.execute(stmt)]

    def list_silences(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        with self.engine.connect() as conn:
            return self._silences(conn, now, include_expired)

    def get_silence(self, silence_id: str) -> Silence | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(silences).where(silences.c.silence_id == silence_id)).first()
            return None if row is None else _silence(row)

    def create_silence(
        self, matchers: Matchers, expires_at: datetime, comment: str, by: str, now: datetime
    ) -> Silence:
        silence = Silence(
            silence_id=str(uuid.uuid4()),
            matchers=matchers,
            expires_at=expires_at,
            comment=comment,
            created_by=by,
            created_at=now,
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(silences).values(
                    silence_id=silence.silence_id,
                    matchers=matchers.model_dump(mode="json", exclude_none=True),
                    comment=comment,
                    created_by=by,
                    created_at=to_ms(now),
                    expires_at=to_ms(expires_at),
                )
            )
        return silence

    def expire_silence(self, silence_id: str, now: datetime) -> bool:
        """End a silence now (it stays listed among expired ones); False if unknown."""
        with self.engine.begin() as conn:
            row = conn.execute(
                select(silences.c.expires_at).where(silences.c.silence_id == silence_id)
            ).first()
            if row is None:
                return False
            if int(row[0]) > to_ms(now):
                conn.execute(
                    update(silences)
                    .where(silences.c.silence_id == silence_id)
                    .values(expires_at=to_ms(now))
                )
            return True

    # -- webhooks ----------------------------------------------------------------------------

    def create_webhook(
        self,
        url: str,
        secret: str | None,
        matchers: Matchers,
        description: str,
        by: str,
        now: datetime,
    ) -> dict[str, Any]:
        values = {
            "webhook_id": str(uuid.uuid4()),
            "url": url,
            "secret": secret or secrets.token_urlsafe(24),
            "matchers": matchers.model_dump(mode="json", exclude_none=True),
            "description": description,
            "created_by": by,
            "created_at": to_ms(now),
        }
        with self.engine.begin() as conn:
            conn.execute(insert(webhooks).values(**values))
        return {**_webhook_view(values), "secret": values["secret"]}

    def list_webhooks(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [
                _webhook_view(r._asdict())
                for r in conn.execute(select(webhooks).order_by(webhooks.c.created_at))
            ]

    def get_webhook(self, webhook_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id)).first()
            return None if row is None else _webhook_view(row._asdict())

    def delete_webhook(self, webhook_id: str) -> bool:
        """Remove a subscription and its deliveries still pending."""
        with self.engine.begin() as conn:
            gone = conn.execute(delete(webhooks).where(webhooks.c.webhook_id == webhook_id))
            conn.execute(
                delete(deliveries).where(
                    deliveries.c.webhook_id == webhook_id, deliveries.c.status == PENDING
                )
            )
            return gone.rowcount == 1

    def list_deliveries(self, webhook_id: str, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries)
                .where(deliveries.c.webhook_id == webhook_id)
                .order_by(deliveries.c.created_at.desc(), deliveries.c.delivery_id)
                .limit(limit)
            )
            return [_delivery_view(r._asdict()) for r in rows]

    def due_deliveries(self, now: datetime, limit: int = 20) -> list[DueDelivery]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    deliveries.c.delivery_id,
                    deliveries.c.webhook_id,
                    webhooks.c.url,
                    webhooks.c.secret,
                    deliveries.c.event,
                    deliveries.c.body,
                    deliveries.c.attempts,
                )
                .join(webhooks, webhooks.c.webhook_id == deliveries.c.webhook_id)
                .where(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= to_ms(now))
                .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at)
                .limit(limit)
            )
            return [DueDelivery(*r) for r in rows]

    def next_due_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            ms = conn.execute(
                select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.status == PENDING)
            ).scalar()
        return None if ms is None else datetime.fromtimestamp(int(ms) / 1000, UTC)

    def record_attempt(
        self,
        delivery_id: str,
        now: datetime,
        *,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> str:
        """Note the outcome of one attempt; returns the delivery's new status."""
        status = DELIVERED if delivered else PENDING if retry_at is not None else FAILED
        with self.engine.begin() as conn:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id)
                .values(
                    status=status,
                    attempts=deliveries.c.attempts + 1,
                    last_status_code=status_code,
                    last_error=error,
                    updated_at=to_ms(now),
                    delivered_at=to_ms(now) if delivered else None,
                    next_attempt_at=None if retry_at is None else to_ms(retry_at),
                )
            )
        return status

    def delivery_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {str(s): int(n) for s, n in rows}


def _ack_view_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert_id": values["alert_id"],
        "by": values["by"],
        "at": _iso(values["at"]),
        "comment": values["comment"],
    }


def _ack_view(row: Any) -> dict[str, Any]:
    return {"ack_id": row.id, **_ack_view_values(row._asdict())}


def _silence(row: Any) -> Silence:
    return Silence(
        silence_id=row.silence_id,
        matchers=Matchers.model_validate(row.matchers),
        expires_at=datetime.fromtimestamp(row.expires_at / 1000, UTC),
        comment=row.comment,
        created_by=row.created_by,
        created_at=datetime.fromtimestamp(row.created_at / 1000, UTC),
    )


def _webhook_view(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": values["webhook_id"],
        "url": values["url"],
        "matchers": values["matchers"],
        "description": values["description"],
        "created_by": values["created_by"],
        "created_at": _iso(values["created_at"]),
    }


def _delivery_view(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": values["delivery_id"],
        "webhook_id": values["webhook_id"],
        "alert_id": values["alert_id"],
        "event": values["event"],
        "status": values["status"],
        "attempts": values["attempts"],
        "next_attempt_at": _iso(values["next_attempt_at"]),
        "last_status_code": values["last_status_code"],
        "last_error": values["last_error"],
        "created_at": _iso(values["created_at"]),
        "delivered_at": _iso(values["delivered_at"]),
    }


def silence_view(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        **silence.model_dump(mode="json"),
        "matchers": silence.matchers.model_dump(mode="json", exclude_none=True),
        "active": silence.active(now),
    }


def ids_of(items: Iterable[dict[str, Any]]) -> list[str]:
    return [i["alert_id"] for i in items]
