"""Consuming the alerts topic into current state and history, and reading alerts back.

Consuming a batch of records is one transaction: state, history, the webhook deliveries it
causes and the next offsets commit together, so a restart neither loses nor repeats them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from parklink.console.matching import Silence, silenced_by
from parklink.console.query import AlertQuery, Cursor, Span, supersedes, to_ms
from parklink.console.storage.events import prune, push, serialize_events
from parklink.console.storage.schema import acks, alert_parks, alerts, history, iso, offsets
from parklink.console.storage.silences import ack_view, active_silences, alert_views
from parklink.console.storage.webhooks import Subscription, enqueue, subscriptions
from parklink.eventkit.contracts import AlertStatus, DisruptionAlert, Severity


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


class Alerts:
    engine: Engine

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
            serialize_events(conn)
            active = active_silences(conn, now)
            hooks = subscriptions(conn)
            next_offsets: dict[int, int] = {}
            for rec in records:
                out.append(_apply_one(conn, rec.alert, received, now, active, hooks))
                next_offsets[rec.partition] = max(
                    next_offsets.get(rec.partition, 0), rec.offset + 1
                )
            pushed = list(dict.fromkeys(a.alert.alert_id for a in out if a.pushed))
            if pushed:
                rows = conn.execute(
                    select(alerts.c.doc, alerts.c.received_at).where(alerts.c.alert_id.in_(pushed))
                ).all()
                by_id = {
                    v["alert_id"]: v
                    for v in alert_views(conn, [(r[0], int(r[1])) for r in rows], now)
                }
                for alert_id in pushed:
                    push(conn, "alert", by_id[alert_id], now)
                prune(conn)
            _advance(conn, topic, next_offsets)
        return out

    def advance(self, topic: str, next_offsets: dict[int, int]) -> None:
        """Move past records that carry no alert (tombstones, undecodable values)."""
        with self.engine.begin() as conn:
            _advance(conn, topic, next_offsets)

    # -- reading -----------------------------------------------------------------------------

    def list_alerts(
        self, query: AlertQuery, now: datetime, *, scope: str | None = None
    ) -> tuple[list[dict[str, Any]], Cursor | None, int]:
        """One page of alerts (newest update first), the cursor of the next page, the total;
        with `scope`, only alerts naming that park."""
        conds: list[Any] = []
        if scope is not None:
            conds.append(_names_park(scope))
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
            conds.append(_names_park(query.park))
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
            items = alert_views(conn, [(r[0], int(r[1])) for r in page], now)
        next_cursor = None
        if len(rows) > query.limit:
            last = page[-1]
            next_cursor = Cursor(int(last[2]), last[0]["alert_id"])
        return items, next_cursor, total

    def get_alert(
        self, alert_id: str, now: datetime, *, scope: str | None = None
    ) -> dict[str, Any] | None:
        """The alert's current state with its history (oldest first) and acknowledgements;
        None when unknown, or when it does not name the park `scope`."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(alerts.c.doc, alerts.c.received_at).where(alerts.c.alert_id == alert_id)
            ).first()
            if row is None or (scope is not None and scope not in row[0].get("parks", ())):
                return None
            view = alert_views(conn, [(row[0], int(row[1]))], now)[0]
            view["history"] = [
                {
                    "status": h.status,
                    "severity": h.severity,
                    "updated_at": iso(h.updated_at),
                    "received_at": iso(h.received_at),
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
                ack_view(a)
                for a in conn.execute(
                    select(acks).where(acks.c.alert_id == alert_id).order_by(acks.c.at, acks.c.id)
                )
            ]
        return view

    def counts_by_state(self) -> dict[tuple[str, str], int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.status, alerts.c.severity, func.count()).group_by(
                    alerts.c.status, alerts.c.severity
                )
            )
            return {(str(s), str(v)): int(n) for s, v, n in rows}

    def spans(self, start_ms: int, end_ms: int, *, scope: str | None = None) -> list[Span]:
        """Firing intervals of the alerts that fired at some time in [start, end) (naming the
        park `scope` when given)."""
        ended = func.coalesce(alerts.c.resolved_at, alerts.c.updated_at)
        conds = [
            alerts.c.started_at < end_ms,
            or_(alerts.c.status == AlertStatus.FIRING.value, ended >= start_ms),
        ]
        if scope is not None:
            conds.append(_names_park(scope))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(alerts.c.started_at, alerts.c.status, ended, alerts.c.severity).where(*conds)
            )
            return [
                Span(int(s), None if st == AlertStatus.FIRING.value else int(e), Severity(sev))
                for s, st, e, sev in rows
            ]


def _names_park(park: str) -> Any:
    return exists().where(alert_parks.c.alert_id == alerts.c.alert_id, alert_parks.c.park == park)


def _advance(conn: Connection, topic: str, next_offsets: dict[int, int]) -> None:
    for partition, nxt in next_offsets.items():
        done = conn.execute(
            update(offsets)
            .where(offsets.c.topic == topic, offsets.c.partition == partition)
            .values(next_offset=nxt)
        )
        if done.rowcount == 0:
            conn.execute(insert(offsets).values(topic=topic, partition=partition, next_offset=nxt))


def _apply_one(
    conn: Connection,
    alert: DisruptionAlert,
    received: int,
    now: datetime,
    active: list[Silence],
    hooks: Sequence[Subscription],
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
            conn.execute(update(alerts).where(alerts.c.alert_id == alert.alert_id).values(**values))
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
    for hook in hooks:
        if hook.wants(alert) and enqueue(conn, hook.webhook_id, alert, received):
            count += 1
    return Applied(alert, True, True, None, count)
