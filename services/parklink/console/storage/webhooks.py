"""Webhook subscriptions and their deliveries. The deliveries table is the dispatcher's queue:
a delivery is queued in the same transaction as the alert state that caused it.

Consoles sharing a database share the queue: a dispatcher claims a due delivery (on
PostgreSQL with `FOR UPDATE SKIP LOCKED`, so two claiming at once take different rows; SQLite
has one writer), which moves its due time to the end of a lease; only the claimant records
the outcome. A console that dies holding a claim leaves the delivery due again when the lease
runs out. A delivery's id is derived from the alert state and the webhook, so a receiver that
sees the same id twice has seen the same delivery."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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

DELIVERY_IDS = uuid.UUID("5c0b7a52-8e3f-4f7e-9a61-3d2b1c0e9f48")
"""The namespace of delivery ids (UUID version 5 of the webhook and the alert state)."""


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


def delivery_id_of(webhook_id: str, alert: DisruptionAlert) -> str:
    """The same for the same webhook and alert state (type, subject, update time, status,
    severity), whichever console queues it and however often the topic is replayed."""
    state = "|".join(
        (
            webhook_id,
            alert.alert_id,
            str(to_ms(alert.updated_at)),
            alert.status.value,
            alert.severity.value,
        )
    )
    return str(uuid.uuid5(DELIVERY_IDS, state))


def enqueue(conn: Connection, webhook_id: str, alert: DisruptionAlert, received: int) -> bool:
    """Queue one delivery of `alert` to a subscription, due now; False when that delivery is
    queued already."""
    delivery_id = delivery_id_of(webhook_id, alert)
    queued = conn.execute(
        select(deliveries.c.delivery_id).where(deliveries.c.delivery_id == delivery_id)
    ).first()
    if queued is not None:
        return False
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
    return True


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

    def due_webhooks(
        self, now: datetime, busy: Collection[str] = (), limit: int = 100
    ) -> list[str]:
        """Webhooks with a delivery due at `now`, other than those in `busy`."""
        stmt = (
            select(deliveries.c.webhook_id)
            .where(deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= to_ms(now))
            .group_by(deliveries.c.webhook_id)
            .order_by(func.min(deliveries.c.next_attempt_at))
            .limit(limit)
        )
        if busy:
            stmt = stmt.where(deliveries.c.webhook_id.not_in(list(busy)))
        with self.engine.connect() as conn:
            return [str(w) for (w,) in conn.execute(stmt)]

    def claim_deliveries(
        self,
        now: datetime,
        claim: str,
        lease_s: float,
        *,
        webhook_id: str | None = None,
        limit: int = 20,
    ) -> list[DueDelivery]:
        """Take up to `limit` deliveries due at `now` (of one webhook when given) for the
        dispatcher `claim`: nobody else takes them until `lease_s` has passed or the outcome
        is recorded."""
        conds = [deliveries.c.status == PENDING, deliveries.c.next_attempt_at <= to_ms(now)]
        if webhook_id is not None:
            conds.append(deliveries.c.webhook_id == webhook_id)
        with self.engine.begin() as conn:
            ids = [
                str(d)
                for (d,) in conn.execute(
                    select(deliveries.c.delivery_id)
                    .where(*conds)
                    .order_by(deliveries.c.next_attempt_at, deliveries.c.created_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ]
            if not ids:
                return []
            # The conditions again: SQLite takes its write lock only here, so another
            # connection may have claimed some of these since the SELECT.
            until = to_ms(now + timedelta(seconds=lease_s))
            conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id.in_(ids), *conds)
                .values(claim=claim, next_attempt_at=until)
            )
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
                .where(
                    deliveries.c.delivery_id.in_(ids),
                    deliveries.c.claim == claim,
                    deliveries.c.next_attempt_at == until,
                )
                .order_by(deliveries.c.created_at, deliveries.c.delivery_id)
            ).all()
        return [
            DueDelivery(d, w, url, self.box.open(secret), e, b, n)
            for d, w, url, secret, e, b, n in rows
        ]

    def release_claims(self, claim: str, now: datetime) -> int:
        """Hand back what the dispatcher `claim` took and did not finish (it is stopping):
        due again now, for whichever console comes first."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(deliveries)
                .where(deliveries.c.claim == claim, deliveries.c.status == PENDING)
                .values(claim=None, next_attempt_at=to_ms(now))
            )
        return int(done.rowcount)

    def next_due_at(self, busy: Collection[str] = ()) -> datetime | None:
        """When the next pending delivery (of a webhook not in `busy`) is due."""
        stmt = select(func.min(deliveries.c.next_attempt_at)).where(deliveries.c.status == PENDING)
        if busy:
            stmt = stmt.where(deliveries.c.webhook_id.not_in(list(busy)))
        with self.engine.connect() as conn:
            ms = conn.execute(stmt).scalar()
        return None if ms is None else from_ms(int(ms))

    def record_attempt(
        self,
        delivery_id: str,
        claim: str,
        now: datetime,
        *,
        delivered: bool,
        status_code: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> str | None:
        """Note the outcome of one attempt made under `claim`; returns the delivery's new
        status, or None when the claim was lost (its lease ran out and another dispatcher
        took the delivery, or the webhook was deleted)."""
        status = DELIVERED if delivered else PENDING if retry_at is not None else FAILED
        with self.engine.begin() as conn:
            done = conn.execute(
                update(deliveries)
                .where(deliveries.c.delivery_id == delivery_id, deliveries.c.claim == claim)
                .values(
                    status=status,
                    attempts=deliveries.c.attempts + 1,
                    last_status_code=status_code,
                    last_error=error,
                    updated_at=to_ms(now),
                    delivered_at=to_ms(now) if delivered else None,
                    next_attempt_at=None if retry_at is None else to_ms(retry_at),
                    claim=None,
                )
            )
        return status if done.rowcount == 1 else None

    def delivery_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(deliveries.c.status, func.count()).group_by(deliveries.c.status)
            )
            return {str(s): int(n) for s, n in rows}
