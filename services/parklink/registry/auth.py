"""Who may call what on the registry: HTTP Basic users with a role, as Confluent Schema
Registry and Karapace offer it (see docs/security.md).

- reader: every read, lookups and compatibility tests; registering a schema the subject
  already holds (what a serializer with auto-register does) answers its id.
- writer: also registers new schemas and versions.
- admin: also PUT/DELETE /config, PUT /mode and every DELETE.

Without credentials a caller is anonymous: reads only, and only while the registry allows
anonymous reads (PARKLINK_REGISTRY_ANONYMOUS_READ, on by default: schemas are public, the
alliance's integrators decode with them). Wrong credentials are always a 401."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from typing import Literal

from parklink.eventkit.credentials import RegistryRole
from parklink.registry.errors import ApiError

Role = Literal["anonymous", "reader", "writer", "admin"]
RANK: dict[Role, int] = {"anonymous": 0, "reader": 1, "writer": 2, "admin": 3}
UNAUTHORIZED = 40101
FORBIDDEN = 40301
REALM = 'Basic realm="parklink-registry"'

_REGISTER = re.compile(r"^/subjects/[^/]+/versions/?$")
_LOOKUP = re.compile(r"^/subjects/[^/]+/?$")


@dataclass(frozen=True)
class Caller:
    name: str | None
    role: Role

    def at_least(self, role: Role) -> bool:
        return RANK[self.role] >= RANK[role]


ANONYMOUS = Caller(None, "anonymous")


def needed_role(method: str, path: str) -> Role:
    """The least role a request needs (registering is checked again by the route: a reader
    may only "register" what is already there)."""
    if method in ("GET", "HEAD", "OPTIONS"):
        return "reader"
    if method == "POST" and (_LOOKUP.match(path) or path.startswith("/compatibility/")):
        return "reader"
    if method == "POST" and _REGISTER.match(path):
        return "reader"
    return "admin"


class Users:
    def __init__(self, users: dict[str, tuple[RegistryRole, str]]) -> None:
        self._users = users

    def caller(self, authorization: str | None) -> Caller:
        """The caller named by an Authorization header; 401 for a bad one."""
        if authorization is None:
            return ANONYMOUS
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "basic":
            raise unauthorized("only HTTP Basic authentication is accepted")
        try:
            name, sep, password = base64.b64decode(token, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise unauthorized("malformed Basic credentials") from exc
        known = self._users.get(name) if sep else None
        # Compare even for unknown users so the answer time does not tell which names exist.
        expected = known[1] if known else "\0" * 43
        matches = hmac.compare_digest(password.encode(), expected.encode())
        if known is None or not matches:
            raise unauthorized("unknown user or wrong password")
        return Caller(name, known[0])


def unauthorized(why: str) -> ApiError:
    return ApiError(401, UNAUTHORIZED, f"Unauthorized: {why}")


def forbidden(caller: Caller, what: str) -> ApiError:
    who = caller.name or "anonymous"
    return ApiError(403, FORBIDDEN, f"User {who} ({caller.role}) is denied {what}")
