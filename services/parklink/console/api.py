"""The console's HTTP API (operators; bearer token) and the web page's routes."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from starlette.exceptions import HTTPException as StarletteHTTPException

from parklink.console.hub import CLOSE, ServerEvent, format_sse
from parklink.console.matching import Matchers
from parklink.console.query import MAX_LIMIT, QueryError, parse_query, timeline, to_ms
from parklink.console.runtime import Runtime
from parklink.console.store import silence_view
from parklink.eventkit.tokens import Principal, Role, TokenError
from parklink.eventkit.web import error_response

TOKEN_HELP = "Operator token from `parklink token issue --operator NAME`."  # noqa: S105 (help text)
bearer = HTTPBearer(auto_error=False, description=TOKEN_HELP)


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {ident!r}")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(400, "bad_json", "the request body is not valid JSON", details)
        return error_response(422, "invalid_request", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))


def _authorize(runtime: Runtime, token: str | None) -> Principal:
    try:
        principal = runtime.tokens.verify(token)
    except TokenError as exc:
        raise ApiError(401, "unauthorized", f"operator token required: {exc}") from exc
    if principal.role != Role.OPERATOR:
        raise ApiError(403, "forbidden", "this route needs an operator token, not a park token")
    return principal


def _query_error(exc: QueryError) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        str(exc),
        [{"loc": ["query", exc.field], "msg": exc.message, "type": "value_error"}],
    )


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL (SQLite can): refuse it here instead of failing with 500.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


StoredText = Annotated[str, AfterValidator(_no_nul)]
"""Free text stored in a text column."""


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: StoredText = Field("", max_length=2000)


class SilenceIn(BaseModel):
    """Give either `expires_at` or `duration_minutes`. At least one matcher."""

    model_config = ConfigDict(extra="forbid")
    matchers: Matchers
    expires_at: AwareDatetime | None = None
    duration_minutes: int | None = Field(None, ge=1, le=60 * 24 * 90)
    comment: StoredText = Field("", max_length=2000)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.matchers.is_empty():
            raise ValueError(
                "matchers: give at least one of alert_id, type, park, corridor, severity"
            )
        if (self.expires_at is None) == (self.duration_minutes is None):
            raise ValueError("give exactly one of expires_at and duration_minutes")
        return self

    def expiry(self, now: datetime) -> datetime:
        if self.expires_at is not None:
            return self.expires_at.astimezone(UTC)
        return now + timedelta(minutes=self.duration_minutes or 0)


class WebhookIn(BaseModel):
    """A subscription: every new state of a matching alert is POSTed to `url`."""

    model_config = ConfigDict(extra="forbid")
    url: StoredText = Field(..., max_length=2000, examples=["https://erp.example/parklink/alerts"])
    secret: StoredText | None = Field(
        None, min_length=16, max_length=200, description="HMAC key; generated when omitted."
    )
    matchers: Matchers = Field(default_factory=Matchers)
    description: StoredText = Field("", max_length=500)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value


WEBHOOK_DOC = (
    "Each delivery is a POST of a JSON body `{delivery_id, webhook_id, event, alert}` with "
    "headers `X-ParkLink-Delivery` (id, the same on every retry), `X-ParkLink-Event`, "
    "`X-ParkLink-Timestamp` (unix seconds) and `X-ParkLink-Signature: sha256=<hex>`, the "
    "HMAC-SHA256 under the subscription's secret of `<timestamp>.<body>`. Any non-2xx answer "
    "or network error is retried with exponential backoff; after the last attempt the "
    "delivery is marked failed (see `/v1/webhooks/{id}/deliveries`)."
)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter()

    def operator(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Principal:
        return _authorize(runtime, creds.credentials if creds else None)

    Operator = Annotated[Principal, Depends(operator)]
    store = runtime.store

    def now() -> datetime:
        return datetime.now(UTC)

    @api.get("/v1/alerts", tags=["alerts"], summary="List alerts, newest update first")
    def list_alerts(
        request: Request,
        _who: Operator,
        status: Annotated[str | None, Query(description="FIRING, RESOLVED (comma list)")] = None,
        type: Annotated[str | None, Query(description="alert type(s), comma list")] = None,
        severity: Annotated[str | None, Query(description="INFO, WARNING, CRITICAL")] = None,
        park: Annotated[str | None, Query(description="alerts naming this park")] = None,
        corridor: str | None = None,
        since: Annotated[str | None, Query(description="updated at or after (ISO 8601)")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: Annotated[str | None, Query(description="`next_cursor` of the page before")] = None,
    ) -> dict[str, Any]:
        try:
            query = parse_query(
                status=status,
                type=type,
                severity=severity,
                park=park,
                corridor=corridor,
                since=since,
                limit=limit,
                cursor=cursor,
            )
        except QueryError as exc:
            raise _query_error(exc) from exc
        items, next_cursor, total = store.list_alerts(query, now())
        token = next_cursor.encode() if next_cursor else None
        return {
            "items": items,
            "total": total,
            "next_cursor": token,
            "next": None
            if token is None
            else f"{request.url.path}?{urlencode({**query.params, 'cursor': token})}",
        }

    @api.get(
        "/v1/alerts/stream",
        tags=["alerts"],
        summary="Live alert updates (Server-Sent Events)",
        description="Events: `alert` (a new state of an alert, or a new acknowledgement) with "
        "the alert as in the list; `snapshot` first when `snapshot=true` (the firing alerts). "
        "Silenced alerts are not pushed. Browsers' EventSource cannot send headers, so this "
        "route also takes the operator token as `?token=`.",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(
        creds: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        token: Annotated[str | None, Query(description=TOKEN_HELP + " (for EventSource)")] = None,
        snapshot: bool = False,
    ) -> StreamingResponse:
        _authorize(runtime, creds.credentials if creds else token)
        keepalive = runtime.settings.sse_keepalive_s

        async def events() -> AsyncIterator[str]:
            queue = runtime.hub.subscribe()
            try:
                yield "retry: 3000\n\n"
                if snapshot:
                    query = parse_query(status="FIRING", limit=MAX_LIMIT)
                    items, _, _ = await asyncio.to_thread(store.list_alerts, query, now())
                    live = [i for i in items if i["silenced_by"] is None]
                    yield format_sse("snapshot", {"items": live})
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=keepalive)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    if event is CLOSE:
                        return
                    yield format_sse(event.event, event.data, runtime.hub.next_id())
            finally:
                runtime.hub.unsubscribe(queue)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @api.get("/v1/alerts/timeline", tags=["alerts"], summary="Firing alerts over time")
    def alert_timeline(
        _who: Operator,
        hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
        buckets: Annotated[int, Query(ge=1, le=200)] = 24,
    ) -> dict[str, Any]:
        end = now()
        start = end - timedelta(hours=hours)
        spans = store.spans(to_ms(start), to_ms(end))
        series = timeline(spans, to_ms(start), to_ms(end), buckets)
        return {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "buckets": [
                {
                    "start": datetime.fromtimestamp(b.start_ms / 1000, UTC).isoformat(),
                    "counts": b.counts,
                }
                for b in series
            ],
        }

    @api.get(
        "/v1/alerts/{alert_id:path}",
        tags=["alerts"],
        summary="One alert with its history and acknowledgements",
        description="Alert ids contain `|` (e.g. `SHIPMENT_DELAY|SH-1`): URL-encode them.",
    )
    def get_alert(alert_id: str, _who: Operator) -> dict[str, Any]:
        alert = store.get_alert(alert_id, now())
        if alert is None:
            raise _not_found("alert", alert_id)
        return alert

    @api.post(
        "/v1/alerts/{alert_id:path}/ack",
        tags=["alerts"],
        status_code=201,
        summary="Acknowledge an alert (holds until the alert changes again)",
    )
    def ack_alert(alert_id: str, body: AckIn, who: Operator) -> dict[str, Any]:
        ack = store.ack(alert_id, who.name, body.comment, now())
        if ack is None:
            raise _not_found("alert", alert_id)
        view = store.alert_view(alert_id, now())
        if view is not None and view["silenced_by"] is None:
            runtime.publish_threadsafe([ServerEvent("alert", view)])
        return ack

    @api.post("/v1/silences", tags=["silences"], status_code=201, summary="Create a silence")
    def create_silence(body: SilenceIn, who: Operator) -> dict[str, Any]:
        moment = now()
        expires = body.expiry(moment)
        if expires <= moment:
            raise ApiError(
                422,
                "invalid_request",
                "expires_at is in the past",
                [{"loc": ["body", "expires_at"], "msg": "must be in the future"}],
            )
        silence = store.create_silence(body.matchers, expires, body.comment, who.name, moment)
        return silence_view(silence, moment)

    @api.get("/v1/silences", tags=["silences"], summary="Silences (active ones by default)")
    def list_silences(_who: Operator, include_expired: bool = False) -> dict[str, Any]:
        moment = now()
        return {
            "items": [silence_view(s, moment) for s in store.list_silences(moment, include_expired)]
        }

    @api.get("/v1/silences/{silence_id}", tags=["silences"], summary="One silence")
    def get_silence(silence_id: str, _who: Operator) -> dict[str, Any]:
        silence = store.get_silence(silence_id)
        if silence is None:
            raise _not_found("silence", silence_id)
        return silence_view(silence, now())

    @api.delete(
        "/v1/silences/{silence_id}", tags=["silences"], status_code=204, summary="End a silence"
    )
    def delete_silence(silence_id: str, _who: Operator) -> Response:
        if not store.expire_silence(silence_id, now()):
            raise _not_found("silence", silence_id)
        return Response(status_code=204)

    @api.post(
        "/v1/webhooks",
        tags=["webhooks"],
        status_code=201,
        summary="Subscribe a URL to alerts",
        description=WEBHOOK_DOC + " The secret is returned only by this call.",
    )
    def create_webhook(body: WebhookIn, who: Operator) -> dict[str, Any]:
        return store.create_webhook(
            body.url, body.secret, body.matchers, body.description, who.name, now()
        )

    @api.get("/v1/webhooks", tags=["webhooks"], summary="Webhook subscriptions")
    def list_webhooks(_who: Operator) -> dict[str, Any]:
        return {"items": store.list_webhooks()}

    @api.get("/v1/webhooks/{webhook_id}", tags=["webhooks"], summary="One subscription")
    def get_webhook(webhook_id: str, _who: Operator) -> dict[str, Any]:
        hook = store.get_webhook(webhook_id)
        if hook is None:
            raise _not_found("webhook", webhook_id)
        return hook

    @api.delete(
        "/v1/webhooks/{webhook_id}",
        tags=["webhooks"],
        status_code=204,
        summary="Unsubscribe (pending deliveries are dropped)",
    )
    def delete_webhook(webhook_id: str, _who: Operator) -> Response:
        if not store.delete_webhook(webhook_id):
            raise _not_found("webhook", webhook_id)
        return Response(status_code=204)

    @api.get(
        "/v1/webhooks/{webhook_id}/deliveries",
        tags=["webhooks"],
        summary="Recent deliveries of a subscription, newest first",
    )
    def list_deliveries(
        webhook_id: str, _who: Operator, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        if store.get_webhook(webhook_id) is None:
            raise _not_found("webhook", webhook_id)
        return {"items": store.list_deliveries(webhook_id, limit)}

    return api
