"""Bearer tokens for parks (gateway) and operators (console). A token is shown once when issued;
only a salted SHA-256 of its secret is stored (SQLite in the state dir). Tokens look like
`plk_<id>_<secret>`: the id finds the row, the secret is compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from parklink.eventkit.errors import ParkLinkError

TOKEN_PREFIX = "plk"  # noqa: S105 (a marker, not a secret)


class Role(StrEnum):
    PARK = "park"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to: a park id or an operator name."""

    token_id: str
    role: Role
    name: str


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    role: Role
    name: str
    created_at: float
    revoked_at: float | None


class TokenError(ParkLinkError):
    """No, malformed, unknown or revoked token."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id   TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    salt       BLOB NOT NULL,
    digest     BLOB NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
)
"""


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


class TokenStore:
    """Thread-safe; verified tokens are cached for `cache_s` seconds so a request does not
    hit SQLite, and revocation takes effect within that time."""

    def __init__(self, path: Path, cache_s: float = 2.0) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._cache_s = cache_s

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> TokenStore:
        return cls(state_dir / "tokens.db")

    def close(self) -> None:
        self._db.close()

    def issue(self, role: Role, name: str) -> str:
        """Create a token and return it; it cannot be shown again."""
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        with self._lock:
            self._db.execute(
                "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, NULL)",
                (token_id, role.value, name, salt, _digest(salt, secret), time.time()),
            )
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def revoke(self, token_id: str) -> bool:
        with self._lock:
            cur = self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (time.time(), token_id),
            )
            self._cache = {k: v for k, v in self._cache.items() if v[1].token_id != token_id}
        return cur.rowcount == 1

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT token_id, role, name, created_at, revoked_at "
                "FROM tokens ORDER BY created_at"
            ).fetchall()
        return [TokenInfo(r[0], Role(r[1]), r[2], r[3], r[4]) for r in rows]

    def verify(self, token: str | None) -> Principal:
        """The principal of a valid token; TokenError (with a reason) otherwise."""
        if not token:
            raise TokenError("no bearer token")
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and now - cached[0] < self._cache_s:
            return cached[1]
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise TokenError("malformed token")
        token_id, secret = parts[1], parts[2]
        with self._lock:
            row = self._db.execute(
                "SELECT role, name, salt, digest, revoked_at FROM tokens WHERE token_id = ?",
                (token_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(_digest(row[2], secret), row[3]):
            raise TokenError("unknown token")
        if row[4] is not None:
            raise TokenError("revoked token")
        principal = Principal(token_id, Role(row[0]), row[1])
        self._cache[token] = (now, principal)
        return principal
