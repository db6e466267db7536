"""Acknowledgements and silences: who took an alert in hand, and which alerts are not pushed
to operators and webhooks until a silence expires."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from parklink.console.matching import Matchers, Silence
from parklink.console.query import to_ms
from parklink.console.storage.schema import acks, alerts, from_ms, iso, silences


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


def silence_view(silence: Silence, now: datetime) -> dict[str, Any]:
    return {
        **silence.model_dump(mode="json"),
        "matchers": silence.matchers.model_dump(mode="json", exclude_none=True),
        "active": silence.active(now),
    }


class AcksAndSilences:
    engine: Engine

    def ack(self, alert_id: str, by: str, comment: str, now: datetime) -> dict[str, Any] | None:
        with self.engine.begin() as conn:
            known = conn.execute(
                select(alerts.c.alert_id).where(alerts.c.alert_id == alert_id)
            ).first()
            if known is None:
                return None
            values = {"alert_id": alert_id, "by": by, "at": to_ms(now), "comment": comment}
            ack_id = conn.execute(insert(acks).values(**values)).inserted_primary_key
        return {"ack_id": ack_id[0] if ack_id else None, **_ack_values(values)}

    def list_silences(self, now: datetime, include_expired: bool = False) -> list[Silence]:
        with self.engine.connect() as conn:
            return active_silences(conn, now, include_expired)

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
