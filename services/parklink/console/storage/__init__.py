"""The console's data layer, one module per concern: `schema` (tables and migrations),
`alerts` (consuming the topic, reading alerts), `silences` (acknowledgements and silences),
`webhooks` (subscriptions and the delivery queue). `AlertStore` is all of them over one
database."""

from __future__ import annotations

from sqlalchemy import Engine

from parklink.console.storage.alerts import Alerts, Applied, Facts, Incoming
from parklink.console.storage.schema import migrate, open_engine
from parklink.console.storage.silences import AcksAndSilences, silence_view
from parklink.console.storage.webhooks import DELIVERED, FAILED, PENDING, DueDelivery, Webhooks

__all__ = [
    "DELIVERED",
    "FAILED",
    "PENDING",
    "AlertStore",
    "Applied",
    "DueDelivery",
    "Facts",
    "Incoming",
    "silence_view",
]


class AlertStore(Alerts, AcksAndSilences, Webhooks):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> AlertStore:
        engine = open_engine(url)
        migrate(engine)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()
