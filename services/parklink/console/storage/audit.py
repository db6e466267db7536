"""The audit trail: every acknowledgement, silence and webhook change, with who and when,
written in the same transaction as the change itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from parklink.console.access import Actor
from parklink.console.query import to_ms
from parklink.console.storage.schema import audit, iso


def record(
    conn: Connection,
    actor: Actor,
    action: str,
    target: str,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        insert(audit).values(
            at=to_ms(now),
            actor=actor.name,
            role=actor.role,
            action=action,
            target=target,
            details=details or {},
        )
    )


class AuditTrail:
    engine: Engine

    def audit_entries(self, limit: int = 500) -> list[dict[str, Any]]:
        """Newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit).order_by(audit.c.at.desc(), audit.c.id.desc()).limit(limit)
            )
            return [
                {
                    "at": iso(r.at),
                    "actor": r.actor,
                    "role": r.role,
                    "action": r.action,
                    "target": r.target,
                    "details": r.details,
                }
                for r in rows
            ]
