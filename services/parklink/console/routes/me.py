"""`/v1/me` (who the token belongs to and what it may do, for the web page) and `/v1/audit`
(every acknowledgement, silence, webhook and token change; alliance operators only)."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from parklink.console.access import Access
from parklink.console.auth import audits, reads, requires
from parklink.console.models import AuditList, MeOut, errors
from parklink.console.runtime import Runtime
from parklink.console.storage.schema import iso


def _stamp(seconds: float | None) -> str | None:
    return None if seconds is None else iso(int(seconds * 1000))


def router(runtime: Runtime) -> APIRouter:
    api = APIRouter(prefix="/v1")
    Reader = Annotated[Access, Depends(requires(runtime.tokens, reads))]
    Auditor = Annotated[Access, Depends(requires(runtime.tokens, audits))]

    @api.get(
        "/me",
        tags=["access"],
        summary="The caller's token: name, role, park and what it may do",
        response_model=MeOut,
        responses=errors(401, 403),
    )
    def me(who: Reader) -> dict[str, Any]:
        return {
            "name": who.name,
            "role": who.role.value,
            "park": who.park,
            "expires_at": _stamp(who.principal.expires_at),
            "may": who.grants(),
        }

    @api.get(
        "/audit",
        tags=["access"],
        summary="Audit trail, newest first: acknowledgements, silences, webhooks, tokens",
        response_model=AuditList,
        responses=errors(401, 403, 422),
    )
    def audit(_who: Auditor, limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> dict[str, Any]:
        entries = runtime.store.audit_entries(limit)
        for change in runtime.tokens.changes(limit):
            entries.append(
                {
                    "at": _stamp(change.at),
                    "actor": change.actor,
                    "role": "cli" if change.actor.startswith("cli") else "unknown",
                    "action": change.action,
                    "target": change.token_id,
                    "details": {
                        "role": change.role.value,
                        "name": change.name,
                        "park": change.park,
                    },
                }
            )
        entries.sort(key=lambda e: e["at"] or "", reverse=True)
        return {"items": entries[:limit]}

    return api
