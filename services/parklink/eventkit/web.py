"""HTTP pieces every FastAPI service shares: /healthz, /readyz, /metrics, and the one JSON
error body `{"error": {"code", "message", "details"}}` with the handlers that make every
refusal (including FastAPI's and Starlette's own, and an unexpected exception) answer with it."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field, SecretStr
from starlette.exceptions import HTTPException

from parklink.eventkit import metrics as m
from parklink.eventkit.metrics import render
from parklink.eventkit.tokens import TokensUnavailable

log = logging.getLogger(__name__)

ReadyCheck = Callable[[], Awaitable[dict[str, str]]]
"""Returns a map of dependency -> problem; empty when ready."""

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    503: "unavailable",
}
"""The error code of a status when the refusal does not name a more precise one."""


class ErrorDetail(BaseModel):
    index: int | None = Field(None, description="Position of the item in a batch, if any.")
    path: str = Field("", description="Field path inside the item, e.g. value.currency.")
    message: str = Field(description="What is wrong there.")
    type: str | None = Field(None, description="Machine-readable kind of the problem.")
    rule: str | None = Field(None, description="The rule broken (party rules, bounds).")


class ErrorInfo(BaseModel):
    code: str = Field(description="Machine-readable error code, e.g. invalid_events.")
    message: str = Field(description="One sentence a person can act on.")
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """Every error of every ParkLink HTTP service has this body."""

    error: ErrorInfo


class ApiError(Exception):
    """A refusal with its status and error fields; raise it from a route, or return
    `.response()`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []
        self.headers = headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.code, self.message, self.details, self.headers)


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or []}}


def error_response(
    status: int,
    code: str,
    message: str,
    details: list[Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, headers=headers)


def error_doc(text: str) -> dict[str, Any]:
    """An OpenAPI `responses` entry for a refusal with the shared error body."""
    return {"model": ErrorBody, "description": text}


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            "index": None,
            "path": ".".join(str(p) for p in err.get("loc", ())),
            "message": str(err.get("msg", "")),
            "type": err.get("type"),
        }
        for err in exc.errors()
    ]


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of `app` the shared JSON body: ApiError, HTTPException (404, 405 ...),
    request validation (400 for a body that is not JSON, 422 otherwise), a token database
    that does not answer (503 with Retry-After: the caller is not at fault, and its token is
    not refused) and any unexpected exception (500, logged with its traceback, never a
    plain-text page)."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        return exc.response()

    @app.exception_handler(HTTPException)
    async def _http_error(_request: Request, exc: HTTPException) -> Response:
        code = STATUS_CODES.get(exc.status_code, "http_error")
        headers = dict(exc.headers) if exc.headers else None
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(400, "bad_json", "the request body is not valid JSON", details)
        return error_response(422, "invalid_request", "the request is not valid", details)

    @app.exception_handler(TokensUnavailable)
    async def _tokens_unavailable(request: Request, exc: TokensUnavailable) -> Response:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503,
            "unavailable",
            "the token database is unavailable, so the token cannot be checked; retry later",
            headers={"Retry-After": str(exc.retry_after_s)},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return error_response(500, "internal", "internal error; the log has the details")


class Health(BaseModel):
    status: str = Field(description="ok")


class Readiness(BaseModel):
    status: str = Field(description="ready, or not ready")
    problems: dict[str, str] = Field(
        default_factory=dict, description="What is missing, by dependency."
    )


METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRICS_REFUSAL = (
    "/metrics needs the metrics token (PARKLINK_METRICS_TOKEN): "
    "send `Authorization: Bearer <token>`"
)


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for anything else."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def metrics_allowed(token: SecretStr | None, authorization: str | None) -> bool:
    """Whether a request with this Authorization header may read /metrics: always when no
    metrics token is set, else only with that token (compared in constant time)."""
    if token is None:
        return True
    given = bearer(authorization)
    return given is not None and hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    )


def ops_router(
    registry: CollectorRegistry, ready: ReadyCheck, metrics_token: SecretStr | None = None
) -> APIRouter:
    """/healthz and /readyz, always open (probes carry no token), and /metrics, which needs
    `metrics_token` when one is set (`Settings.metrics_secret()`)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process is up")
    async def healthz() -> Health:
        return Health(status="ok")

    @router.get(
        "/readyz",
        summary="Readiness: Kafka and the registry are reachable",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "Not ready: see `problems`."}},
    )
    async def readyz() -> JSONResponse:
        problems = await ready()
        if problems:
            body = Readiness(status="not ready", problems=problems)
            return JSONResponse(body.model_dump(), status_code=503)
        return JSONResponse(Readiness(status="ready").model_dump())

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "description": "The Prometheus text exposition format.",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            },
            401: error_doc("A metrics token is set and the request does not carry it."),
        },
    )
    async def metrics(request: Request) -> Response:
        if not metrics_allowed(metrics_token, request.headers.get("authorization")):
            return error_response(
                401, "unauthorized", METRICS_REFUSAL, headers={"WWW-Authenticate": "Bearer"}
            )
        body, content_type = render(registry)
        return Response(body, media_type=content_type)

    return router


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class HttpMetrics:
    """ASGI middleware: requests by route template, method and status, and the time until the
    response's headers are sent (for a stream such as SSE that is the time to open it, not its
    lifetime). Routes are the templates (`/v1/alerts/{alert_id}`), so ids never become labels;
    paths no route matches count as `unmatched`."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry, service: str) -> None:
        self.app = app
        self.service = service
        self.requests = m.counter(
            registry,
            m.HTTP_REQUESTS,
            "HTTP requests answered, by route, method and status code.",
            ("service", "route", "method", "code"),
        )
        self.seconds = m.histogram(
            registry,
            m.HTTP_REQUEST_SECONDS,
            "Seconds from a request's arrival to its response headers, by route and method.",
            ("service", "route", "method"),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        code = 500

        async def sending(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = int(message["status"])
                self._observe(scope, code, started)
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except BaseException:
            self._observe(scope, code, started)
            raise

    def _observe(self, scope: Scope, code: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        method = str(scope.get("method", ""))
        self.requests.labels(self.service, route, method, str(code)).inc()
        self.seconds.labels(self.service, route, method).observe(time.perf_counter() - started)


def install_http_metrics(app: FastAPI, registry: CollectorRegistry, service: str) -> None:
    """Count and time every request of `app` on `registry` (see `HttpMetrics`)."""
    app.add_middleware(HttpMetrics, registry=registry, service=service)
