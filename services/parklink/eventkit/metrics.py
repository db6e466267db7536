"""Prometheus metrics: every metric name lives here, and metrics are made by factories that
take a CollectorRegistry (never the global one at import time)."""

from __future__ import annotations

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

PREFIX = "parklink"

# The one list of metric names (without the prefix), by service.
BUILD_INFO = "build_info"
HTTP_REQUESTS = "http_requests_total"
HTTP_REQUEST_SECONDS = "http_request_duration_seconds"
CONSUMER_LAG = "consumer_lag"
REGISTRY_REQUESTS = "registry_requests_total"
REGISTRY_SCHEMAS = "registry_schemas"
GATEWAY_EVENTS_ACCEPTED = "gateway_events_accepted_total"
GATEWAY_EVENTS_REJECTED = "gateway_events_rejected_total"
GATEWAY_PRODUCE_SECONDS = "gateway_produce_seconds"
DETECTOR_EVENTS_IN = "detector_events_in_total"
DETECTOR_ALERTS_OUT = "detector_alerts_out_total"
DETECTOR_DLQ = "detector_dlq_total"
DETECTOR_REFUSED = "detector_refused_total"
DETECTOR_PROCESS_SECONDS = "detector_process_seconds"
DETECTOR_TABLE_SIZE = "detector_table_size"
CONSOLE_ALERTS = "console_alerts"
CONSOLE_WEBHOOK_DELIVERIES = "console_webhook_deliveries_total"
CONSOLE_SSE_CLIENTS = "console_sse_clients"
CONSOLE_ALERTS_CONSUMED = "console_alerts_consumed_total"
SIMULATOR_EVENTS_PUBLISHED = "simulator_events_published_total"
SIMULATOR_EVENTS_REFUSED = "simulator_events_refused_total"
SIMULATOR_RETRIES = "simulator_retries_total"
SIMULATOR_BACKLOG = "simulator_backlog"
SIMULATOR_LAG_SECONDS = "simulator_lag_seconds"
SIMULATOR_SCENARIOS = "simulator_scenarios_total"
RELAY_RECORDS = "relay_records_total"
RELAY_REGISTRY_WAITING = "relay_registry_waiting"


def name(short: str) -> str:
    return f"{PREFIX}_{short}"


def counter(
    registry: CollectorRegistry, short: str, doc: str, labels: tuple[str, ...] = ()
) -> Counter:
    return Counter(name(short), doc, labels, registry=registry)


def gauge(registry: CollectorRegistry, short: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
    return Gauge(name(short), doc, labels, registry=registry)


def histogram(
    registry: CollectorRegistry,
    short: str,
    doc: str,
    labels: tuple[str, ...] = (),
    buckets: tuple[float, ...] = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
) -> Histogram:
    return Histogram(name(short), doc, labels, registry=registry, buckets=buckets)


def new_registry(service: str) -> CollectorRegistry:
    """A fresh registry with the build-info gauge of `service` and the standard process and
    runtime metrics (`process_*`, `python_*`: CPU, memory, file descriptors, GC)."""
    registry = CollectorRegistry()
    for standard in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(standard)
    info = gauge(registry, BUILD_INFO, "ParkLink build information.", ("service", "version"))
    info.labels(service=service, version=_version()).set(1)
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """Body and content type of a /metrics response."""
    return generate_latest(registry), CONTENT_TYPE_LATEST


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parklink")
    except PackageNotFoundError:
        return "dev"
