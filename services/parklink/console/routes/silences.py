"""`/v1/silences`: alerts matched by a silence are stored but not pushed until it expires. A
park operator's silences always carry their park as a matcher, so they cover only alerts
naming it; they see their park's silences and the alliance-wide ones that may cover them."""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from parklink.console.access import Access
from parklink.console.auth import acts, reads, requires
from parklink.console.errors import ApiError, not_found
from parklink.console.matching import Silence
from parklink.console.models import SilenceIn, SilenceList, SilenceOut, errors
from parklink.console.runtime import Runtime
from parklink.console.storage import silence_view


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1/silences", tags=["silences"])
    Reader = Annotated[Access, Depends(requires(runtime.tokens, reads))]
    Acting = Annotated[Access, Depends(requires(runtime.tokens, acts))]
    store = runtime.store

    def visible(who: Access, silence: Silence) -> bool:
        alert_id = silence.matchers.alert_id
        parks = None if alert_id is None or who.park is None else store.parks_of(alert_id)
        return who.sees_silence(silence, parks)

    @api.post(
        "",
        status_code=201,
        summary="Create a silence",
        description="A park operator's silence is limited to their park: `matchers.park` is "
        "set to it (403 when another park is given).",
        response_model=SilenceOut,
        responses=errors(400, 401, 403, 422),
    )
    def create_silence(body: SilenceIn, who: Acting) -> dict[str, Any]:
        moment = datetime.now(UTC)
        expires = body.expiry(moment)
        matchers = body.matchers
        if who.park is not None:
            if matchers.park not in (None, who.park):
                raise ApiError(403, "forbidden", f"silences of this token are for {who.park}")
            matchers = matchers.model_copy(update={"park": who.park})
        silence = store.create_silence(matchers, expires, body.comment, who.actor, moment)
        return silence_view(silence, moment)

    @api.get(
        "",
        summary="Silences (active ones by default)",
        response_model=SilenceList,
        responses=errors(401, 403, 422),
    )
    def list_silences(who: Reader, include_expired: bool = False) -> dict[str, Any]:
        moment = datetime.now(UTC)
        return {
            "items": [
                silence_view(s, moment)
                for s in store.list_silences(moment, include_expired)
                if visible(who, s)
            ]
        }

    @api.get(
        "/{silence_id}",
        summary="One silence",
        response_model=SilenceOut,
        responses=errors(401, 403, 404, 422),
    )
    def get_silence(silence_id: str, who: Reader) -> dict[str, Any]:
        silence = store.get_silence(silence_id)
        if silence is None or not visible(who, silence):
            raise not_found("silence", silence_id)
        return silence_view(silence, datetime.now(UTC))

    @api.delete(
        "/{silence_id}",
        status_code=204,
        summary="End a silence",
        description="A park operator may end only their park's silences.",
        response_class=Response,
        responses=errors(401, 403, 404, 422),
    )
    def delete_silence(silence_id: str, who: Acting) -> Response:
        silence = store.get_silence(silence_id)
        if silence is None or not visible(who, silence):
            raise not_found("silence", silence_id)
        if not who.owns_scope(silence.matchers.park):
            raise ApiError(403, "forbidden", "this silence is not limited to your park")
        store.expire_silence(silence_id, datetime.now(UTC), who.actor)
        return Response(status_code=204)

    return api
