"""Wires the console: database, tokens, the alerts consumer, the webhook dispatcher, the SSE
hub, the API and the web page; `main()` serves it with uvicorn until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from kafka import TopicPartition
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from parklink.console.config import ConsoleSettings
from parklink.console.errors import install_error_handlers
from parklink.console.hub import Hub
from parklink.console.ingest import AlertConsumer
from parklink.console.routes import routers
from parklink.console.runtime import ConsoleMetrics, Runtime
from parklink.console.sealing import SecretBox
from parklink.console.storage import AlertStore
from parklink.console.storage.schema import sqlite_path
from parklink.console.targets import Resolver, system_resolver
from parklink.console.webhooks import Dispatcher
from parklink.eventkit import service
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lag import LagMetric, in_topics
from parklink.eventkit.metrics import new_registry
from parklink.eventkit.private_files import private_dir, private_sqlite
from parklink.eventkit.registry_client import RegistryClient, RegistryError
from parklink.eventkit.tokens import TokenStore
from parklink.eventkit.web import install_http_metrics, ops_router

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"


def open_store(settings: ConsoleSettings) -> AlertStore:
    """The console database, migrated; a SQLite file in the state dir is created 0600 in a
    0700 directory."""
    private_dir(settings.state_dir)
    box = SecretBox.from_settings(settings.webhook_secret_key, settings.state_dir)
    url = settings.database()
    path = sqlite_path(url)
    if path is not None:
        private_dir(path.parent)
        private_sqlite(path)
    try:
        return AlertStore.open(url, box)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise ParkLinkError(f"cannot open the console database: {exc}") from exc


def create_app(
    settings: ConsoleSettings,
    *,
    consume: bool = True,
    resolver: Resolver = system_resolver,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The console app. With `consume=False` nothing reads Kafka (tests feed the store);
    `resolver` finds webhook hosts' addresses and `transport` carries deliveries (tests pass
    stubs so that nothing leaves the machine)."""
    store = open_store(settings)
    tokens = TokenStore.in_state_dir(settings.state_dir)
    console_metrics = ConsoleMetrics.create(new_registry("console"))
    hub = Hub(console_metrics.sse_clients)
    runtime = Runtime(settings, store, tokens, console_metrics, hub, resolver)
    registry = RegistryClient(settings.registry_url, timeout=5.0)
    consumer: AlertConsumer | None = None
    lag: LagMetric | None = None
    if consume:
        alerts_topic = load_catalog()["alerts"].topic(settings.topic_prefix)
        consumer = AlertConsumer(
            bootstrap=settings.bootstrap_servers,
            topic=alerts_topic,
            store=store,
            registry=registry,
            consumed=console_metrics.consumed,
            on_applied=runtime.notify,
        )

        def stored_positions() -> dict[TopicPartition, int]:
            return {
                TopicPartition(alerts_topic, p): o
                for p, o in store.next_offsets(alerts_topic).items()
            }

        # The console keeps its position in its database, not in a consumer group.
        lag = LagMetric(
            console_metrics.registry,
            settings.bootstrap_servers,
            "console",
            in_topics([alerts_topic]),
            positions=stored_positions,
        )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        runtime.loop = asyncio.get_running_loop()
        runtime.refresh_gauges()
        # Each delivery connects to the address it checked, so no pooled connection (made
        # for another host name on the same address) is reused.
        client = httpx.AsyncClient(
            timeout=settings.webhook_timeout_s,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0),
            transport=transport,
            trust_env=False,
        )
        dispatcher = Dispatcher(
            store,
            client,
            console_metrics.deliveries,
            backoff_s=settings.webhook_backoff_s,
            backoff_max_s=settings.webhook_backoff_max_s,
            max_attempts=settings.webhook_max_attempts,
            allow=settings.allowed_targets(),
            resolver=resolver,
            timeout_s=settings.webhook_timeout_s,
            per_receiver=settings.webhook_receiver_concurrency,
        )
        runtime.dispatcher = dispatcher
        task = asyncio.create_task(dispatcher.run(), name="webhook-dispatcher")
        if consumer is not None:
            consumer.start()
        if lag is not None:
            lag.start()
        log.info("console on http://%s:%d/", settings.console_host, settings.console_port)
        try:
            yield
        finally:
            hub.close_all()
            if consumer is not None:
                await asyncio.to_thread(consumer.stop)
            if lag is not None:
                await asyncio.to_thread(lag.stop)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await client.aclose()
            registry.close()
            store.close()
            tokens.close()
            log.info("console stopped")

    async def ready() -> dict[str, str]:
        problems: dict[str, str] = {}
        if consumer is not None and consumer.problem:
            problems["kafka"] = consumer.problem
        try:
            await asyncio.to_thread(registry.ping)
        except RegistryError as exc:
            problems["registry"] = str(exc)
        try:
            await asyncio.to_thread(_ping_db, store)
        except SQLAlchemyError as exc:
            problems["database"] = str(exc)
        return problems

    app = FastAPI(
        title="ParkLink console",
        version="1",
        description="Alerts API for operators of the ParkLink alliance: list, filter, "
        "acknowledge and silence disruption alerts, follow them live (Server-Sent Events) "
        "and subscribe webhooks. Every /v1 route needs a bearer token: an alliance "
        "operator's sees every alert; a park operator's only the alerts naming its park (on "
        "every route, the stream and webhooks included); a viewer's reads only. Errors are "
        '`{"error": {"code", "message", "details"}}`.',
        lifespan=lifespan,
    )
    install_error_handlers(app)
    install_http_metrics(app, console_metrics.registry, "console")
    app.include_router(ops_router(console_metrics.registry, ready, settings.metrics_secret()))
    for router in routers(runtime):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    app.state.runtime = runtime
    return app


def _ping_db(store: AlertStore) -> None:
    with store.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def serve(settings: ConsoleSettings) -> None:
    # One line per webhook attempt and registry call is the console's own log's job.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    service.serve(create_app(settings), settings.console_host, settings.console_port, graceful_s=3)


def main() -> None:
    service.main(ConsoleSettings, serve)
