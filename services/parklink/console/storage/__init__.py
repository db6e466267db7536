"""The console's data layer, one module per concern: `schema` (tables and migrations),
`alerts` (consuming the topic, reading alerts), `silences` (acknowledgements and silences),
`webhooks` (subscriptions and the delivery queue), `events` (what the stream told operators,
for resuming), `audit` (who changed what). `AlertStore` is all of them over one database."""

from __future__ import annotations

from sqlalchemy import Engine

from parklink.console.access import Actor
from parklink.console.sealing import SecretBox
from parklink.console.storage.alerts import Alerts, Applied, Incoming
from parklink.console.storage.audit import AuditTrail
from parklink.console.storage.events import EventLog, StreamEvent
from parklink.console.storage.schema import migrate
from parklink.console.storage.silences import AcksAndSilences, Facts, silence_view
from parklink.console.storage.webhooks import DELIVERED, FAILED, PENDING, DueDelivery, Webhooks
from parklink.eventkit.database import open_engine

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "Actor",
    "AlertStore",
    "Applied",
    "DueDelivery",
    "Facts",
    "Incoming",
    "StreamEvent",
    "silence_view",
]


class AlertStore(Alerts, AcksAndSilences, Webhooks, EventLog, AuditTrail):
    def __init__(self, engine: Engine, box: SecretBox) -> None:
        self.engine = engine
        self.box = box

    @classmethod
    def open(cls, url: str, box: SecretBox) -> AlertStore:
        engine = open_engine(url)
        migrate(engine)
        store = cls(engine, box)
        store.seal_plain_secrets()
        store.check_secrets()
        return store

    def close(self) -> None:
        self.engine.dispose()
