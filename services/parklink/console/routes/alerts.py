"""`/v1/alerts`: the list, one alert, acknowledgements, the live stream and the timeline. A
park operator's token sees only alerts naming its park on each of them: another park's alert
is answered 404, as if it did not exist."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from parklink.console.access import Access
from parklink.console.auth import TOKEN_HELP, Credentials, acts, authorize, reads, requires
from parklink.console.errors import ApiError, not_found, query_error
from parklink.console.hub import format_sse
from parklink.console.matching import NO_NUL
from parklink.console.models import AckIn, AckOut, AlertDetail, AlertPage, Timeline, errors
from parklink.console.query import (
    CURSOR_FORMAT,
    MAX_LIMIT,
    QueryError,
    one_or_more,
    parse_query,
    timeline,
    to_ms,
)
from parklink.console.runtime import Runtime
from parklink.eventkit.contracts import AlertStatus, Severity
from parklink.eventkit.tokens import TokenError

STREAM_DOC = (
    "Events: `alert` (a new state of an alert, or a new acknowledgement) with the alert as in "
    "the list, each with an `id`; `snapshot` first when `snapshot=true` (the firing alerts); "
    "`reset` when the stream cannot replay what a reconnecting client missed (reload the "
    "list). A client that reconnects with `Last-Event-ID` receives every update after that "
    "id exactly once. Silenced alerts are not pushed. The token is checked again every few "
    "seconds: the stream ends when it is revoked or expires. Browsers' EventSource cannot "
    "send headers, so this route also takes the token as `?token=`."
)


def now() -> datetime:
    return datetime.now(UTC)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/alerts", tags=["alerts"])
    Reader = Annotated[Access, Depends(requires(runtime.tokens, reads))]
    Acting = Annotated[Access, Depends(requires(runtime.tokens, acts))]
    store = runtime.store

    @api.get(
        "",
        summary="List alerts, newest update first",
        response_model=AlertPage,
        responses=errors(401, 403, 422),
    )
    def list_alerts(
        request: Request,
        who: Reader,
        status: Annotated[
            str | None,
            Query(description="FIRING, RESOLVED (comma list)", pattern=one_or_more(AlertStatus)),
        ] = None,
        type: Annotated[
            str | None, Query(description="alert type(s), comma list", pattern=NO_NUL)
        ] = None,
        severity: Annotated[
            str | None,
            Query(
                description="INFO, WARNING, CRITICAL (comma list)", pattern=one_or_more(Severity)
            ),
        ] = None,
        park: Annotated[
            str | None, Query(description="alerts naming this park", pattern=NO_NUL)
        ] = None,
        corridor: Annotated[str | None, Query(pattern=NO_NUL)] = None,
        since: Annotated[
            str | None,
            Query(
                description="updated at or after (ISO 8601 with a zone)",
                json_schema_extra={"format": "date-time"},
            ),
        ] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
        cursor: Annotated[
            str | None,
            Query(
                description="`next_cursor` of the page before (opaque)",
                json_schema_extra={"format": CURSOR_FORMAT},
            ),
        ] = None,
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
        last_event_id = store.last_event_id()
        items, next_cursor, total = store.list_alerts(query, now(), scope=who.park)
        token = next_cursor.encode() if next_cursor else None
        return {
            "last_event_id": last_event_id,
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
        description=STREAM_DOC,
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}, **errors(401, 403, 422)},
    )
    async def stream(
        creds: Credentials,
        token: Annotated[str | None, Query(description=TOKEN_HELP + " (for EventSource)")] = None,
        snapshot: bool = False,
        last_event_id: Annotated[
            str | None, Header(description="The last event id received (on reconnect).")
        ] = None,
        since: Annotated[
            str | None,
            Query(
                alias="last_event_id",
                description="Like the Last-Event-ID header, for a first connection (e.g. the "
                "list's `last_event_id`); the header wins.",
            ),
        ] = None,
    ) -> StreamingResponse:
        secret = creds.credentials if creds else token
        who = authorize(runtime.tokens, secret, reads)
        resume: int | None = None
        last_event_id = last_event_id or since
        if last_event_id:
            if not last_event_id.isdigit() or len(last_event_id) > 18:
                raise ApiError(422, "invalid_request", "Last-Event-ID must be an event id")
            resume = int(last_event_id)
        settings = runtime.settings

        async def still_valid() -> bool:
            try:
                await asyncio.to_thread(authorize, runtime.tokens, secret, reads, fresh=True)
            except (ApiError, TokenError):
                return False
            return True

        # Where the stream starts is fixed before the client sees the answer: an update made
        # once it has the answer is always sent.
        newest = await asyncio.to_thread(store.last_event_id)

        async def events() -> AsyncIterator[str]:
            waiter = runtime.hub.subscribe()
            try:
                yield "retry: 3000\n\n"
                last = newest
                if resume is not None and resume < last:
                    last = resume
                elif resume is not None and resume > last:
                    yield format_sse("reset", {"reason": "the event log was rebuilt"}, last)
                if snapshot:
                    query = parse_query(status="FIRING", limit=MAX_LIMIT)
                    items, _, _ = await asyncio.to_thread(
                        store.list_alerts, query, now(), scope=who.park
                    )
                    live = [i for i in items if i["silenced_by"] is None]
                    yield format_sse("snapshot", {"items": live})
                loop = asyncio.get_running_loop()
                checked = loop.time()
                quiet = loop.time()
                while not runtime.hub.closing:
                    batch, complete = await asyncio.to_thread(store.events_after, last)
                    if not complete:
                        last = await asyncio.to_thread(store.last_event_id)
                        yield format_sse("reset", {"reason": "missed too many updates"}, last)
                        quiet = loop.time()
                        continue
                    for ev in batch:
                        last = ev.seq
                        if who.sees(ev.parks):
                            yield format_sse(ev.event, ev.data, ev.seq)
                            quiet = loop.time()
                    if batch:
                        continue
                    waiter.clear()
                    wait = min(settings.sse_recheck_s, settings.sse_keepalive_s)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(waiter.wait(), timeout=wait)
                    if loop.time() - checked >= settings.sse_recheck_s:
                        if not await still_valid():
                            return
                        checked = loop.time()
                    if loop.time() - quiet >= settings.sse_keepalive_s:
                        yield ": keepalive\n\n"
                        quiet = loop.time()
            finally:
                runtime.hub.unsubscribe(waiter)

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
        who: Reader,
        hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
        buckets: Annotated[int, Query(ge=1, le=200)] = 24,
    ) -> dict[str, Any]:
        end = now()
        start = end - timedelta(hours=hours)
        spans = store.spans(to_ms(start), to_ms(end), scope=who.park)
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
        responses=errors(401, 403, 404, 422),
    )
    def get_alert(alert_id: str, who: Reader) -> dict[str, Any]:
        alert = store.get_alert(alert_id, now(), scope=who.park)
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
    def ack_alert(alert_id: str, body: AckIn, who: Acting) -> dict[str, Any]:
        done = store.ack(alert_id, who.actor, body.comment, now(), scope=who.park)
        if done is None:
            raise not_found("alert", alert_id)
        runtime.wake_threadsafe()
        return done

    return api
