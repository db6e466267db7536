"""Who is calling: the bearer token of every /v1 route, checked against the token store, and
whether its role may use the route (see `access.py`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parklink.console.access import Access
from parklink.console.errors import ApiError
from parklink.eventkit.tokens import TokenError, TokenStore

ISSUE = "`parklink token issue --operator NAME`, `--park-operator PARK NAME` or `--viewer NAME`"
TOKEN_HELP = "Console token from " + ISSUE + "."
bearer = HTTPBearer(auto_error=False, description=TOKEN_HELP)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

Need = Callable[[Access], bool]


def reads(access: Access) -> bool:
    return access.may_read


def acts(access: Access) -> bool:
    return access.may_act


def subscribes(access: Access) -> bool:
    return access.may_subscribe


def audits(access: Access) -> bool:
    return access.may_audit


REFUSALS: dict[Need, str] = {
    reads: "this route needs a console token (operator, park operator or viewer)",
    acts: "this token may not change alerts (viewers read only)",
    subscribes: "this token may not manage webhooks",
    audits: "the audit trail is for alliance operators",
}


def authorize(tokens: TokenStore, token: str | None, need: Need, *, fresh: bool = False) -> Access:
    try:
        access = Access(tokens.verify(token, fresh=fresh))
    except TokenError as exc:
        raise ApiError(
            401,
            "unauthorized",
            f"console token required: {exc}",
            headers={"WWW-Authenticate": "Bearer"},
        ) from exc
    if not access.may_read:
        raise ApiError(403, "forbidden", REFUSALS[reads])
    if not need(access):
        raise ApiError(403, "forbidden", REFUSALS[need])
    return access


def requires(
    tokens: TokenStore, need: Need
) -> Callable[[HTTPAuthorizationCredentials | None], Access]:
    """A dependency that yields the caller's access when its token may use the route."""

    def dependency(creds: Credentials) -> Access:
        return authorize(tokens, creds.credentials if creds else None, need)

    return dependency
