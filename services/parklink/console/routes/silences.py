"""`/v1/silences`: alerts matched by a silence are stored but not pushed until it expires."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from parklink.console.auth import operator
from parklink.console.errors import invalid, not_found
from parklink.console.models import SilenceIn, SilenceList, SilenceOut, errors
from parklink.console.runtime import Runtime
from parklink.console.storage import silence_view
from parklink.eventkit.tokens import Principal


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/silences", tags=["silences"])
    Operator = Annotated[Principal, Depends(operator(runtime.tokens))]
    store = runtime.store

    @api.post(
        "",
        status_code=201,
        summary="Create a silence",
        response_model=SilenceOut,
        responses=errors(400, 401, 403, 422),
    )
    def create_silence(body: SilenceIn, who: Operator) -> dict[str, Any]:
        moment = datetime.now(UTC)
        expires = body.expiry(moment)
        if expires <= moment:
            raise invalid(["body", "expires_at"], "expires_at is in the past")
        silence = store.create_silence(body.matchers, expires, body.comment, who.name, moment)
        return silence_view(silence, moment)

    @api.get(
        "",
        summary="Silences (active ones by default)",
        response_model=SilenceList,
        responses=errors(401, 403, 422),
    )
    def list_silences(_who: Operator, include_expired: bool = False) -> dict[str, Any]:
        moment = datetime.now(UTC)
        return {
            "items": [silence_view(s, moment) for s in store.list_silences(moment, include_expired)]
        }

    @api.get(
        "/{silence_id}",
        summary="One silence",
        response_model=SilenceOut,
        responses=errors(401, 403, 404),
    )
    def get_silence(silence_id: str, _who: Operator) -> dict[str, Any]:
        silence = store.get_silence(silence_id)
        if silence is None:
            raise not_found("silence", silence_id)
        return silence_view(silence, datetime.now(UTC))

    @api.delete(
        "/{silence_id}",
        status_code=204,
        summary="End a silence",
        response_class=Response,
        responses=errors(401, 403, 404),
    )
    def delete_silence(silence_id: str, _who: Operator) -> Response:
        if not store.expire_silence(silence_id, datetime.now(UTC)):
            raise not_found("silence", silence_id)
        return Response(status_code=204)

    return api
