"""`/v1/webhooks`: subscriptions that receive every new state of matching alerts, signed. A
park operator's subscriptions receive only alerts naming their park, and they see and change
only those; another park's subscription is answered 404."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from parklink.console.access import Access
from parklink.console.auth import requires, subscribes
from parklink.console.errors import invalid, not_found
from parklink.console.models import (
    DeliveryList,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
    errors,
)
from parklink.console.runtime import Runtime
from parklink.console.targets import TargetRefused, resolve_target

WEBHOOK_DOC = (
    "Each delivery is a POST of a JSON body `{delivery_id, webhook_id, event, alert}` with "
    "headers `X-ParkLink-Delivery` (id, the same on every retry and for the same alert state "
    "and webhook: drop repeats by it), `X-ParkLink-Event`, "
    "`X-ParkLink-Timestamp` (unix seconds) and `X-ParkLink-Signature: sha256=<hex>`, the "
    "HMAC-SHA256 under the subscription's secret of `<timestamp>.<body>`. Any non-2xx answer "
    "or network error (or no answer within the timeout) is retried with jittered "
    "exponential backoff; after the last attempt the "
    "delivery is marked failed (see `/v1/webhooks/{id}/deliveries`; a failure is recorded "
    "as `delivery failed`, whatever its cause). The URL must be `https` and its host must "
    "resolve to public addresses only (checked now and before each delivery); plain `http` "
    "and private addresses only for targets on the PARKLINK_WEBHOOK_ALLOWED_TARGETS list."
)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
    Subscriber = Annotated[Access, Depends(requires(runtime.tokens, subscribes))]
    store = runtime.store
    allow = runtime.settings.allowed_targets()

    def own(webhook_id: str, who: Access) -> dict[str, Any]:
        hook = store.get_webhook(webhook_id)
        if hook is None or not who.owns_scope(hook["park"]):
            raise not_found("webhook", webhook_id)
        return hook

    @api.post(
        "",
        status_code=201,
        summary="Subscribe a URL to alerts",
        description=WEBHOOK_DOC + " The secret is returned only by this call.",
        response_model=WebhookCreated,
        responses=errors(400, 401, 403, 422),
    )
    async def create_webhook(body: WebhookIn, who: Subscriber) -> dict[str, Any]:
        try:
            await resolve_target(body.url, allow, runtime.resolver)
        except TargetRefused as exc:
            raise invalid(["body", "url"], str(exc)) from exc
        return await asyncio.to_thread(
            store.create_webhook,
            body.url,
            body.secret,
            body.matchers,
            body.description,
            who.actor,
            datetime.now(UTC),
            park=who.park,
        )

    @api.get(
        "",
        summary="Webhook subscriptions",
        response_model=WebhookList,
        responses=errors(401, 403),
    )
    def list_webhooks(who: Subscriber) -> dict[str, Any]:
        return {"items": store.list_webhooks(scope=who.park)}

    @api.get(
        "/{webhook_id}",
        summary="One subscription",
        response_model=WebhookOut,
        responses=errors(401, 403, 404, 422),
    )
    def get_webhook(webhook_id: str, who: Subscriber) -> dict[str, Any]:
        return own(webhook_id, who)

    @api.delete(
        "/{webhook_id}",
        status_code=204,
        summary="Unsubscribe (pending deliveries are dropped)",
        response_class=Response,
        responses=errors(401, 403, 404, 422),
    )
    def delete_webhook(webhook_id: str, who: Subscriber) -> Response:
        own(webhook_id, who)
        if not store.delete_webhook(webhook_id, who.actor, datetime.now(UTC)):
            raise not_found("webhook", webhook_id)
        return Response(status_code=204)

    @api.get(
        "/{webhook_id}/deliveries",
        summary="Recent deliveries of a subscription, newest first",
        response_model=DeliveryList,
        responses=errors(401, 403, 404, 422),
    )
    def list_deliveries(
        webhook_id: str, who: Subscriber, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        own(webhook_id, who)
        return {"items": store.list_deliveries(webhook_id, limit)}

    return api
