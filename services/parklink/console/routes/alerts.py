"""`/v1/alerts`: the list, one alert, acknowledgements, the live stream and the timeline."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse

from parklink.console.auth import TOKEN_HELP, Credentials, authorize, operator
from parklink.console.errors import not_found, query_error
from parklink.console.hub import CLOSE, ServerEvent, format_sse
from parklink.console.models import (
    AckIn,
    AckOut,
    AlertDetail,
    AlertPage,
    Timeline,
    errors,
)
from parklink.console.query import MAX_LIMIT, QueryError, parse_query, timeline, to_ms
from parklink.console.runtime import Runtime
from parklink.eventkit.tokens import Principal


def now() -> datetime:
    return datetime.now(UTC)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/alerts", tags=["alerts"])
    Operator = Annotated[Principal, Depends(operator(runtime.tokens))]
    store = runtime.store

    @api.get(
        "",
        summary="List alerts, newest update first",
        response_model=AlertPage,
        responses=errors(401, 403, 422),
    )
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
            raise query_error(exc) from exc
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
        "/stream",
        summary="Live alert updates (Server-Sent Events)",
        description="Events: `alert` (a new state of an alert, or a new acknowledgement) with "
        "the alert as in the list; `snapshot` first when `snapshot=true` (the firing alerts). "
        "Silenced alerts are not pushed. Browsers' EventSource cannot send headers, so this "
        "route also takes the operator token as `?token=`.",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **errors(401, 403, 422)},
    )
    async def stream(
        creds: Credentials,
        token: Annotated[str | None, Query(description=TOKEN_HELP + " (for EventSource)")] = None,
        snapshot: bool = False,
    ) -> StreamingResponse:
        authorize(runtime.tokens, creds.credentials if creds else token)
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

    @api.get(
        "/timeline",
        summary="Firing alerts over time",
        response_model=Timeline,
        responses=errors(401, 403, 422),
    )
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
        "/{alert_id:path}",
        summary="One alert with its history and acknowledgements",
        description="Alert ids contain `|` (e.g. `SHIPMENT_DELAY|SH-1`): URL-encode them.",
        response_model=AlertDetail,
        responses=errors(401, 403, 404),
    )
    def get_alert(alert_id: str, _who: Operator) -> dict[str, Any]:
        alert = store.get_alert(alert_id, now())
        if alert is None:
            raise not_found("alert", alert_id)
        return alert

    @api.post(
        "/{alert_id:path}/ack",
        status_code=201,
        summary="Acknowledge an alert (holds until the alert changes again)",
        response_model=AckOut,
        responses=errors(400, 401, 403, 404, 422),
    )
    def ack_alert(alert_id: str, body: AckIn, who: Operator) -> dict[str, Any]:
        ack = store.ack(alert_id, who.name, body.comment, now())
        if ack is None:
            raise not_found("alert", alert_id)
        view = store.alert_view(alert_id, now())
        if view is not None and view["silenced_by"] is None:
            runtime.publish_threadsafe([ServerEvent("alert", view)])
        return ack

    return api
