"""`/v1/webhooks`: subscriptions that receive every new state of matching alerts, signed."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from parklink.console.auth import operator
from parklink.console.errors import not_found
from parklink.console.models import (
    DeliveryList,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
    errors,
)
from parklink.console.runtime import Runtime
from parklink.eventkit.tokens import Principal

WEBHOOK_DOC = (
    "Each delivery is a POST of a JSON body `{delivery_id, webhook_id, event, alert}` with "
    "headers `X-ParkLink-Delivery` (id, the same on every retry), `X-ParkLink-Event`, "
    "`X-ParkLink-Timestamp` (unix seconds) and `X-ParkLink-Signature: sha256=<hex>`, the "
    "HMAC-SHA256 under the subscription's secret of `<timestamp>.<body>`. Any non-2xx answer "
    "or network error is retried with exponential backoff; after the last attempt the "
    "delivery is marked failed (see `/v1/webhooks/{id}/deliveries`)."
)


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
    Operator = Annotated[Principal, Depends(operator(runtime.tokens))]
    store = runtime.store

    @api.post(
        "",
        status_code=201,
        summary="Subscribe a URL to alerts",
        description=WEBHOOK_DOC + " The secret is returned only by this call.",
        response_model=WebhookCreated,
        responses=errors(400, 401, 403, 422),
    )
    def create_webhook(body: WebhookIn, who: Operator) -> dict[str, Any]:
        return store.create_webhook(
            body.url, body.secret, body.matchers, body.description, who.name, datetime.now(UTC)
        )

    @api.get(
        "",
        summary="Webhook subscriptions",
        response_model=WebhookList,
        responses=errors(401, 403),
    )
    def list_webhooks(_who: Operator) -> dict[str, Any]:
        return {"items": store.list_webhooks()}

    @api.get(
        "/{webhook_id}",
        summary="One subscription",
        response_model=WebhookOut,
        responses=errors(401, 403, 404),
    )
    def get_webhook(webhook_id: str, _who: Operator) -> dict[str, Any]:
        hook = store.get_webhook(webhook_id)
        if hook is None:
            raise not_found("webhook", webhook_id)
        return hook

    @api.delete(
        "/{webhook_id}",
        status_code=204,
        summary="Unsubscribe (pending deliveries are dropped)",
        response_class=Response,
        responses=errors(401, 403, 404),
    )
    def delete_webhook(webhook_id: str, _who: Operator) -> Response:
        if not store.delete_webhook(webhook_id):
            raise not_found("webhook", webhook_id)
        return Response(status_code=204)

    @api.get(
        "/{webhook_id}/deliveries",
        summary="Recent deliveries of a subscription, newest first",
        response_model=DeliveryList,
        responses=errors(401, 403, 404, 422),
    )
    def list_deliveries(
        webhook_id: str, _who: Operator, limit: Annotated[int, Query(ge=1, le=1000)] = 100
    ) -> dict[str, Any]:
        if store.get_webhook(webhook_id) is None:
            raise not_found("webhook", webhook_id)
        return {"items": store.list_deliveries(webhook_id, limit)}

    return api
