"""What the console's routes and background tasks share: settings, store, tokens, the SSE hub,
the webhook dispatcher and the metrics; and how consumed alerts reach operators."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge

from parklink.console.config import ConsoleSettings
from parklink.console.hub import Hub, ServerEvent
from parklink.console.storage import AlertStore, Applied
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
                "Records read from the alerts topic by outcome.",
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
        """After a batch is stored (any thread): push what operators should hear of, wake the
        webhook dispatcher, update the gauges."""
        self.refresh_gauges()
        pushed = [a.alert.alert_id for a in applied if a.pushed]
        if not pushed:
            return
        by_id = {v["alert_id"]: v for v in self.store.views_of(pushed, datetime.now(UTC))}
        events = [ServerEvent("alert", by_id[i]) for i in dict.fromkeys(pushed) if i in by_id]
        self.publish_threadsafe(events, wake=any(a.deliveries for a in applied))

    def publish_threadsafe(self, events: Sequence[ServerEvent], wake: bool = False) -> None:
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._publish, list(events), wake)

    def _publish(self, events: list[ServerEvent], wake: bool) -> None:
        for event in events:
            self.hub.publish(event)
        if wake and self.dispatcher is not None:
            self.dispatcher.wake()
