"""Webhook subscriptions and their deliveries. The deliveries table is the dispatcher's queue:
a delivery is queued in the same transaction as the alert state that caused it."""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

from parklink.console.access import Actor
from parklink.console.matching import Matchers
from parklink.console.query import to_ms
from parklink.console.sealing import SecretBox
from parklink.console.storage.audit import record
from parklink.console.storage.schema import deliveries, from_ms, iso, webhooks
from parklink.eventkit.contracts import DisruptionAlert

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


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


@dataclass(frozen=True)
class Subscription:
    """What the consumer needs of a webhook to decide whether an alert goes to it."""

    webhook_id: str
    matchers: Matchers
    park: str | None
    """A park operator's subscription receives only alerts naming their park."""

    def wants(self, alert: DisruptionAlert) -> bool:
        return (self.park is None or self.park in alert.parks) and self.matchers.matches(alert)


def subscriptions(conn: Connection) -> list[Subscription]:
    rows = conn.execute(select(webhooks.c.webhook_id, webhooks.c.matchers, webhooks.c.park))
    return [Subscription(w, Matchers.model_validate(m), p) for w, m, p in rows]


def enqueue(conn: Connection, webhook_id: str, alert: DisruptionAlert, received: int) -> None:
    """Queue one delivery of `alert` to a subscription, due now."""
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


def _webhook_view(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "webhook_id": values["webhook_id"],
        "url": values["url"],
        "matchers": values["matchers"],
        "description": values["description"],
        "created_by": values["created_by"],
        "created_at": iso(values["created_at"]),
        "park": values["park"],
    }


def _delivery_view(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "delivery_id": values["delivery_id"],
        "webhook_id": values["webhook_id"],
        "alert_id": values["alert_id"],
        "event": values["event"],
        "status": values["status"],
        "attempts": values["attempts"],
        "next_attempt_at": iso(values["next_attempt_at"]),
        "last_status_code": values["last_status_code"],
        "last_error": values["last_error"],
        "created_at": iso(values["created_at"]),
        "delivered_at": iso(values["delivered_at"]),
    }


class Webhooks:
    engine: Engine
    box: SecretBox
    """Seals the secrets at rest."""

    def create_webhook(
        self,
        url: str,
        secret: str | None,
        matchers: Matchers,
        description: str,
        by: str | Actor,
        now: datetime,
        *,
        park: str | None = None,
    ) -> dict[str, Any]:
        """Subscribe `url` (to alerts naming `park` only, when given); the answer is the only
        place the secret is shown."""
        actor = by if isinstance(by, Actor) else Actor(by)
        plain = secret or secrets.token_urlsafe(24)
        values = {
            "webhook_id": str(uuid.uuid4()),
            "url": url,
            "secret": self.box.seal(plain),
            "matchers": matchers.model_dump(mode="json", exclude_none=True),
            "description": description,
            "created_by": actor.name,
            "created_at": to_ms(now),
            "park": park,
        }
        view = _webhook_view(values)
        with self.engine.begin() as conn:
            conn.execute(insert(webhooks).values(**values))
            record(conn, actor, "webhook.create", view["webhook_id"], now, view)
        return {**view, "secret": plain}

    def seal_plain_secrets(self) -> int:
        """Encrypt secrets stored before they were sealed; returns how many."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(webhooks.c.webhook_id, webhooks.c.secret)).all()
            plain = [(w, s) for w, s in rows if not self.box.is_sealed(s)]
            for webhook_id, secret in plain:
                conn.execute(
                    update(webhooks)
                    .where(webhooks.c.webhook_id == webhook_id)
                    .values(secret=self.box.seal(secret))
                )
        return len(plain)

    def check_secrets(self) -> None:
        """Fail now, not at the first delivery, when the key does not open the secrets."""
        with self.engine.connect() as conn:
            for (secret,) in conn.execute(select(webhooks.c.secret)):
                self.box.open(secret)

    def list_webhooks(self, *, scope: str | None = None) -> list[dict[str, Any]]:
        """Every subscription, or with `scope` those of that park's operators."""
        stmt = select(webhooks).order_by(webhooks.c.created_at)
        if scope is not None:
            stmt = stmt.where(webhooks.c.park == scope)
        with self.engine.connect() as conn:
            return [_webhook_view(r._asdict()) for r in conn.execute(stmt)]

    def get_webhook(self, webhook_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(webhooks).where(webhooks.c.webhook_id == webhook_id)).first()
            return None if row is None else _webhook_view(row._asdict())

    def delete_webhook(
        self, webhook_id: str, by: str | Actor = "operator", now: datetime | None = None
    ) -> bool:
        """Remove a subscription and its deliveries still pending."""
        actor = by if isinstance(by, Actor) else Actor(by)
        with self.engine.begin() as conn:
            gone = conn.execute(delete(webhooks).where(webhooks.c.webhook_id == webhook_id))
            conn.execute(
                delete(deliveries).where(
                    deliveries.c.webhook_id == webhook_id, deliveries.c.status == PENDING
                )
            )
            if gone.rowcount == 1:
                record(conn, actor, "webhook.delete", webhook_id, now or datetime.now(UTC))
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
            return [
                DueDelivery(d, w, url, self.box.open(secret), e, b, n)
                for d, w, url, secret, e, b, n in rows
            ]

    def next_due_at(self) -> datetime | None:
        with self.engine.connect() as conn:
            ms = conn.execute(
                select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.status == PENDING)
            ).scalar()
        return None if ms is None else from_ms(int(ms))

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
