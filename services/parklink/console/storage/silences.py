"""Acknowledgements and silences: who took an alert in hand, and which alerts are not pushed
to operators and webhooks until a silence expires; and so how an alert is shown."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from parklink.console.access import Actor
from parklink.console.matching import Matchers, Silence, silenced_by
from parklink.console.query import to_ms
from parklink.console.storage.audit import record
from parklink.console.storage.events import push, serialize_events
from parklink.console.storage.schema import acks, alert_parks, alerts, from_ms, iso, silences
from parklink.eventkit.contracts import Severity


def active_silences(
    conn: Connection, now: datetime, include_expired: bool = False
) -> list[Silence]:
    stmt = select(silences).order_by(silences.c.created_at)
    if not include_expired:
        stmt = stmt.where(silences.c.expires_at > to_ms(now))
    return [_silence(r) for r in conn.execute(stmt)]


def ack_view(row: Any) -> dict[str, Any]:
    return {"ack_id": row.id, **_ack_values(row._asdict())}


def _ack_values(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert_id": values["alert_id"],
        "by": values["by"],
        "at": iso(values["at"]),
        "comment": values["comment"],
    }


def _silence(row: Any) -> Silence:
    return Silence(
        silence_id=row.silence_id,
        matchers=Matchers.model_validate(row.matchers),
        expires_at=from_ms(row.expires_at),
        comment=row.comment,
        created_by=row.created_by,
        created_at=from_ms(row.created_at),
    )


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


def alert_views(
    conn: Connection, rows: Sequence[tuple[dict[str, Any], int]], now: datetime
) -> list[dict[str, Any]]:
    """Stored alerts (document, received at) as the API shows them: with their last
    acknowledgement and the silence that covers them."""
    ids = [doc["alert_id"] for doc, _ in rows]
    last_ack: dict[str, Any] = {}
    if ids:
        for a in conn.execute(
            select(acks).where(acks.c.alert_id.in_(ids)).order_by(acks.c.at, acks.c.id)
        ):
            last_ack[a.alert_id] = a
    active = active_silences(conn, now)
    out = []
    for doc, received in rows:
        ack = last_ack.get(doc["alert_id"])
        silence = silenced_by(active, Facts.of(doc), now)
        out.append(
            {
                **doc,
                "received_at": iso(received),
                # An acknowledgement holds until the alert changes again.
                "acknowledged": ack is not None and ack.at >= received,
                "last_ack": None if ack is None else ack_view(ack),
                "silenced_by": None if silence is None else silence.silence_id,
            }
        )
    return out


def silence_view(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        **silence.model_dump(mode="json"),
        "matchers": silence.matchers.model_dump(mode="json", exclude_none=True),
        "active": silence.active(now),
    }


class AcksAndSilences:
    engine: Engine

    def ack(
        self,
        alert_id: str,
        by: str | Actor,
        comment: str,
        now: datetime,
        *,
        scope: str | None = None,
    ) -> dict[str, Any] | None:
        """Acknowledge an alert (one naming `scope` when given); operators are told of the
        alert as it now looks unless it is silenced. None when there is no such alert (for
        this scope)."""
        actor = by if isinstance(by, Actor) else Actor(by)
        with self.engine.begin() as conn:
            serialize_events(conn)
            row = conn.execute(
                select(alerts.c.doc, alerts.c.received_at).where(alerts.c.alert_id == alert_id)
            ).first()
            if row is None or (scope is not None and scope not in row[0].get("parks", ())):
                return None
            values = {"alert_id": alert_id, "by": actor.name, "at": to_ms(now), "comment": comment}
            ack_id = conn.execute(insert(acks).values(**values)).inserted_primary_key
            record(conn, actor, "alert.ack", alert_id, now, {"comment": comment})
            view = alert_views(conn, [(row[0], int(row[1]))], now)[0]
            if view["silenced_by"] is None:
                push(conn, "alert", view, now)
        return {"ack_id": ack_id[0] if ack_id else None, **_ack_values(values)}

    def parks_of(self, alert_id: str) -> list[str] | None:
        """The parks an alert names; None for an unknown alert."""
        with self.engine.connect() as conn:
            known = conn.execute(
                select(alerts.c.alert_id).where(alerts.c.alert_id == alert_id)
            ).first()
            if known is None:
                return None
            rows = conn.execute(
                select(alert_parks.c.park).where(alert_parks.c.alert_id == alert_id)
            )
            return [str(r[0]) for r in rows]

    def list_silences(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        with self.engine.connect() as conn:
            return active_silences(conn, now, include_expired)

    def get_silence(self, silence_id: str) -> Silence | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(silences).where(silences.c.silence_id == silence_id)).first()
            return None if row is None else _silence(row)

    def create_silence(
        self,
        matchers: Matchers,
        expires_at: datetime,
        comment: str,
        by: str | Actor,
        now: datetime,
    ) -> Silence:
        actor = by if isinstance(by, Actor) else Actor(by)
        silence = Silence(
            silence_id=str(uuid.uuid4()),
            matchers=matchers,
            expires_at=expires_at,
            comment=comment,
            created_by=actor.name,
            created_at=now,
        )
        with self.engine.begin() as conn:
            conn.execute(
                insert(silences).values(
                    silence_id=silence.silence_id,
                    matchers=matchers.model_dump(mode="json", exclude_none=True),
                    comment=comment,
                    created_by=actor.name,
                    created_at=to_ms(now),
                    expires_at=to_ms(expires_at),
                )
            )
            record(
                conn,
                actor,
                "silence.create",
                silence.silence_id,
                now,
                silence_view(silence, now),
            )
        return silence

    def expire_silence(self, silence_id: str, now: datetime, by: str | Actor = "operator") -> bool:
        """End a silence now (it stays listed among expired ones); False if unknown."""
        actor = by if isinstance(by, Actor) else Actor(by)
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
                record(conn, actor, "silence.expire", silence_id, now)
            return True
