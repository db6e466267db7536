"""Who is calling: the bearer token of every /v1 route, checked against the token store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from parklink.console.errors import ApiError
from parklink.eventkit.tokens import Principal, Role, TokenError, TokenStore

TOKEN_HELP = "Operator token from `parklink token issue --operator NAME`."  # noqa: S105 (help text)
bearer = HTTPBearer(auto_error=False, description=TOKEN_HELP)

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def authorize(tokens: TokenStore, token: str | None) -> Principal:
    try:
        principal = tokens.verify(token)
    except TokenError as exc:
        raise ApiError(401, "unauthorized", f"operator token required: {exc}") from exc
    if principal.role != Role.OPERATOR:
        raise ApiError(403, "forbidden", "this route needs an operator token, not a park token")
    return principal


def operator(tokens: TokenStore) -> Callable[[HTTPAuthorizationCredentials | None], Principal]:
    """A dependency that yields the operator behind the request's bearer token."""

    def dependency(creds: Credentials) -> Principal:
        return authorize(tokens, creds.credentials if creds else None)

    return dependency
