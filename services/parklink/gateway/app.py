"""The gateway's wiring: FastAPI routes over the ingest rules, the Kafka sink, tokens, rate
limits and metrics; `main()` serves it until SIGTERM/SIGINT, then flushes the producer."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from parklink.eventkit import service
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.contracts import PARK_EVENT_MODELS, ParkEvent, now_utc
from parklink.eventkit.encoding import EventEncoder
from parklink.eventkit.errors import DeliveryFailed
from parklink.eventkit.metrics import (
    GATEWAY_EVENTS_ACCEPTED,
    GATEWAY_EVENTS_REJECTED,
    GATEWAY_PRODUCE_SECONDS,
    counter,
    histogram,
    new_registry,
)
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.tokens import TokenStore
from parklink.eventkit.web import (
    error_doc,
    error_response,
    install_error_handlers,
    install_http_metrics,
    ops_router,
)
from parklink.gateway.asyncapi import asyncapi_document
from parklink.gateway.config import GatewaySettings
from parklink.gateway.ingest import (
    Rejection,
    admit,
    authenticate,
    body_too_large,
    check_content_type,
    check_declared_length,
    parse_items,
)
from parklink.gateway.ratelimit import RateLimiter
from parklink.gateway.sink import KafkaSink

log = logging.getLogger(__name__)

DESCRIPTION = """\
HTTP ingest for member parks of the ParkLink alliance network.

Each park publishes its order, shipment and capacity events with its own bearer token
(`parklink token issue --park ID`). A request holds one event object or an array of them; a
batch is all or nothing. `202` is returned only after Kafka acknowledged every event of the
request (acks=all); on `503` nothing of the request counts as accepted.

**Retries are safe.** Resending a request with the same `event_id`s may write the events to
Kafka a second time, but the network de-duplicates by `event_id`: the detector ignores an
`event_id` it has seen, so a repeated event changes nothing. Always retry a 503 or a timeout
with the same body.

A park speaks only for itself: it publishes an order only as its buyer or supplier (PLACED,
AMENDED, CANCELLED from the buyer; CONFIRMED, FULFILLED from the supplier), a shipment only as
its origin or destination, capacity only for itself (403). Every field is bounded and
`event_time` may be at most a few minutes ahead and some days old (422; the limits are
settings, see docs/bounds.md).

Errors are JSON `{"error": {"code", "message", "details"}}`; for 403 and 422 each detail names
the item's `index` in the batch and the field `path` inside it; a 403 detail also the `rule`.
"""


class Sink(Protocol):
    async def publish(self, kind: str, events: Sequence[ParkEvent]) -> None: ...

    async def ready(self) -> dict[str, str]: ...

    def warm_up(self) -> None: ...

    def close(self) -> None: ...


class Accepted(BaseModel):
    accepted: int = Field(description="How many events Kafka acknowledged.")
    event_ids: list[str] = Field(description="Their event ids, in request order.")


SECURITY_SCHEME = "parkToken"

EVENT_TIME_WINDOW = "x-parklink-event-time-window"
"""The OpenAPI extension on `event_time` with the window, in seconds around the gateway's
clock when the request arrives, that the event time must fall in: `{"ahead_s", "behind_s"}`.
No JSON Schema can state a bound relative to the server's clock, so the document states it
in words and here, where clients and test generators can read it."""


def error_responses(bounds: TimeBounds) -> dict[int | str, dict[str, Any]]:
    ahead, behind = bounds.skew.total_seconds(), bounds.horizon.total_seconds()
    return {
        400: error_doc("The body is not valid JSON."),
        401: error_doc("No, unknown or revoked bearer token."),
        403: error_doc(
            "An operator token, an event of another park (source_park / park_id), or an event "
            "the park is not a party to (each detail has the item's index and the rule)."
        ),
        413: error_doc("Body larger than the limit, or more events than the batch limit."),
        415: error_doc("Content-Type is not application/json."),
        422: error_doc(
            "Schema or bounds violations (docs/bounds.md), each with the item index and field "
            "path. Also refused with 422, though the schema allows it, because no JSON Schema "
            "can state a bound relative to the server's clock: an `event_time` more than "
            f"{ahead:g} s ahead of the gateway's clock or more than {behind:g} s behind it "
            f"when the request arrives (detail type `event_time_out_of_bounds`; the window is "
            f"also on the property, as `{EVENT_TIME_WINDOW}`)."
        ),
        429: error_doc("The park's event rate limit; see the Retry-After header."),
        503: error_doc(
            "Kafka, the schema registry or the token database unavailable; nothing was "
            "accepted. Retry after the Retry-After header's seconds, with the same body."
        ),
    }


def declare_event_time_window(schema: dict[str, Any], bounds: TimeBounds) -> None:
    """Say on the `event_time` property of an event's JSON Schema what the gateway checks
    against its clock (see EVENT_TIME_WINDOW)."""
    ahead, behind = bounds.skew.total_seconds(), bounds.horizon.total_seconds()
    prop = schema["properties"]["event_time"]
    prop["description"] = (
        f"When it happened at the park. Must be at most {ahead:g} s ahead of the gateway's "
        f"clock and at most {behind:g} s behind it when the request arrives (422 otherwise)."
    )
    prop[EVENT_TIME_WINDOW] = {"ahead_s": ahead, "behind_s": behind}


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it grows past `limit` (never held whole)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise body_too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def create_app(
    settings: GatewaySettings,
    tokens: TokenStore,
    sink: Sink,
    clock: Callable[[], float] = time.monotonic,
    wall_clock: Callable[[], datetime] = now_utc,
) -> FastAPI:
    registry = new_registry("gateway")
    accepted = counter(
        registry, GATEWAY_EVENTS_ACCEPTED, "Events acknowledged by Kafka.", ("park", "kind")
    )
    rejected = counter(
        registry,
        GATEWAY_EVENTS_REJECTED,
        "Events refused, by reason (the error code).",
        ("park", "kind", "reason"),
    )
    produce_seconds = histogram(
        registry,
        GATEWAY_PRODUCE_SECONDS,
        "Time from handing a request to Kafka to its acks.",
        ("kind",),
    )
    limiter = RateLimiter(settings.gateway_rate_per_s, settings.gateway_rate_burst)
    limit = settings.gateway_max_body_bytes
    bounds = TimeBounds.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await asyncio.get_running_loop().run_in_executor(None, sink.warm_up)
        try:
            yield
        finally:
            log.info("shutting down: flushing the producer")
            sink.close()
            tokens.close()

    app = FastAPI(
        title="ParkLink gateway",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.include_router(ops_router(registry, sink.ready, settings.metrics_secret()))
    install_error_handlers(app)
    install_http_metrics(app, registry, "gateway")

    def ingest(kind: str) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def handler(request: Request) -> JSONResponse:
            park = "unknown"
            try:
                park = authenticate(tokens, request.headers.get("authorization")).name
                check_content_type(request.headers.get("content-type"))
                check_declared_length(request.headers.get("content-length"), limit)
                items = parse_items(await read_limited(request, limit), settings.gateway_max_batch)
                events = admit(kind, items, park, wall_clock(), bounds)
                wait = limiter.take(park, len(events), clock())
                if wait:
                    raise Rejection(
                        429,
                        "rate_limited",
                        f"park {park} is over its rate of {settings.gateway_rate_per_s:g} "
                        f"events/s; retry in {math.ceil(wait)}s",
                        headers={"Retry-After": str(math.ceil(wait))},
                        events=len(events),
                    )
                started = time.perf_counter()
                try:
                    await sink.publish(kind, events)
                except DeliveryFailed as exc:
                    raise Rejection(
                        503,
                        "unavailable",
                        f"{exc}; nothing of this request was accepted: retry it with the "
                        "same event_ids",
                        headers={"Retry-After": "5"},
                        events=len(events),
                    ) from exc
                produce_seconds.labels(kind).observe(time.perf_counter() - started)
            except Rejection as rej:
                rejected.labels(park, kind, rej.code).inc(rej.events)
                return error_response(
                    rej.status, rej.code, rej.message, rej.details, headers=rej.headers
                )
            accepted.labels(park, kind).inc(len(events))
            return JSONResponse(
                {"accepted": len(events), "event_ids": [e.event_id for e in events]},
                status_code=202,
            )

        return handler

    responses = error_responses(bounds)
    for kind, model in PARK_EVENT_MODELS.items():
        one = {"$ref": f"#/components/schemas/{model.__name__}"}
        app.add_api_route(
            f"/v1/events/{kind}",
            ingest(kind),
            methods=["POST"],
            status_code=202,
            response_model=Accepted,
            responses=responses,
            summary=f"Publish {kind} events",
            description=f"One {model.__name__} or an array of 1 to {settings.gateway_max_batch} "
            "of them; `source_park` must be the token's park. Safe to retry: the network "
            "de-duplicates by `event_id`.",
            tags=["events"],
            openapi_extra={
                "security": [{SECURITY_SCHEME: []}],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    one,
                                    {
                                        "type": "array",
                                        "items": one,
                                        "minItems": 1,
                                        "maxItems": settings.gateway_max_batch,
                                    },
                                ]
                            }
                        }
                    },
                },
            },
        )

    document = asyncapi_document(settings.topic_prefix, settings.bootstrap_servers)

    @app.get("/asyncapi.json", tags=["integrators"], summary="AsyncAPI 3 document of the topics")
    async def asyncapi() -> dict[str, Any]:
        return document

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = doc.setdefault("components", {})
            components["securitySchemes"] = {
                SECURITY_SCHEME: {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A park token: `parklink token issue --park ID`.",
                }
            }
            schemas = components.setdefault("schemas", {})
            for model in PARK_EVENT_MODELS.values():
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                declare_event_time_window(schema, bounds)
                schemas[model.__name__] = schema
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def build(settings: GatewaySettings) -> FastAPI:
    registry = RegistryClient(settings.registry_url)
    encoder = EventEncoder(registry, settings.topic_prefix)
    sink = KafkaSink(
        settings.bootstrap_servers, registry, encoder, settings.gateway_produce_timeout_s
    )
    tokens = TokenStore.from_settings(settings)
    return create_app(settings, tokens, sink)


def serve(settings: GatewaySettings) -> None:
    log.info(
        "gateway: Kafka %s, registry %s, topics %s*",
        settings.kafka_bootstrap,
        settings.registry_url,
        settings.topic_prefix,
    )
    service.serve(
        build(settings),
        settings.gateway_host,
        settings.gateway_port,
        graceful_s=settings.gateway_graceful_s,
    )


def main() -> None:
    service.main(GatewaySettings, serve)
