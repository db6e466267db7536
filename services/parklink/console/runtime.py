"""What the console's routes and background tasks share: settings, store, tokens, the SSE hub,
the webhook dispatcher, the resolver of webhook hosts and the metrics; and how consumed alerts
reach operators."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from parklink.console.config import ConsoleSettings
from parklink.console.hub import Hub
from parklink.console.storage import AlertStore, Applied
from parklink.console.targets import Resolver
from parklink.console.webhooks import Dispatcher
from parklink.eventkit import metrics
from parklink.eventkit.contracts import AlertStatus, Severity
from parklink.eventkit.tokens import TokenStore

log = logging.getLogger(__name__)


@dataclass
class ConsoleMetrics:
    registry: CollectorRegistry
    alerts: Gauge
    deliveries: Counter
    sse_clients: Gauge
    consumed: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry) -> ConsoleMetrics:
        return cls(
            registry,
            metrics.gauge(
                registry,
                metrics.CONSOLE_ALERTS,
                "Alerts by status and severity.",
                ("status", "severity"),
            ),
            metrics.counter(
                registry,
                metrics.CONSOLE_WEBHOOK_DELIVERIES,
                "Webhook delivery attempts by outcome (delivered, retry, failed).",
                ("outcome",),
            ),
            metrics.gauge(
                registry, metrics.CONSOLE_SSE_CLIENTS, "Open Server-Sent Events streams."
            ),
            metrics.counter(
                registry,
                metrics.CONSOLE_ALERTS_CONSUMED,
                "Records read from the alerts topic by outcome (new, replayed, tombstone, "
                "undecodable, unstorable: refused by the database and skipped).",
                ("outcome",),
            ),
        )


@dataclass
class Runtime:
    settings: ConsoleSettings
    store: AlertStore
    tokens: TokenStore
    metrics: ConsoleMetrics
    hub: Hub
    resolver: Resolver
    loop: asyncio.AbstractEventLoop | None = None
    dispatcher: Dispatcher | None = None

    def refresh_gauges(self) -> None:
        counts = self.store.counts_by_state()
        for status in AlertStatus:
            for severity in Severity:
                self.metrics.alerts.labels(status=status.value, severity=severity.value).set(
                    counts.get((status.value, severity.value), 0)
                )

    def notify(self, applied: Sequence[Applied]) -> None:
        """After a batch is stored (any thread): wake the streams for what operators should
        hear of and the webhook dispatcher for what it must deliver; update the gauges."""
        self.refresh_gauges()
        if any(a.pushed for a in applied):
            self.wake_threadsafe(webhooks=any(a.deliveries for a in applied))

    def wake_threadsafe(self, webhooks: bool = False) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._wake, webhooks)

    def _wake(self, webhooks: bool) -> None:
        self.hub.wake()
        if webhooks and self.dispatcher is not None:
            self.dispatcher.wake()
