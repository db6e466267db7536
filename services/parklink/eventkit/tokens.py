"""Bearer tokens for parks (gateway) and people and services of the console: alliance
operators, park operators (one park's alerts) and viewers (read only). A token is shown once
when issued; only a salted SHA-256 of its secret is stored (SQLite in the state dir, 0600).
Tokens look like `plk_<id>_<secret>`: the id finds the row, the secret is compared in constant
time. Every token expires unless issued explicitly without an expiry; the store notes when
each was last used, and every issue and revocation in its audit table."""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import hmac
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.private_files import private_dir, private_sqlite

TOKEN_PREFIX = "plk"  # noqa: S105 (a marker, not a secret)
DEFAULT_TTL = timedelta(days=90)
"""How long a token lives unless told otherwise."""
LAST_USED_EVERY_S = 60.0
"""`last_used_at` is written at most this often per token (not on every request)."""


class Role(StrEnum):
    PARK = "park"
    """A member park publishing through the gateway; the token's name is the park id."""
    OPERATOR = "operator"
    """An alliance operator: every alert, every action, the audit trail."""
    PARK_OPERATOR = "park-operator"
    """An operator of one park: that park's alerts, acknowledgements, silences, webhooks."""
    VIEWER = "viewer"
    """Reads alerts and silences, changes nothing."""


@dataclass(frozen=True)
class Principal:
    """Who a valid token belongs to: a park id or a person's (or service's) name."""

    token_id: str
    role: Role
    name: str
    park: str | None = None
    """The park a park operator speaks for."""
    expires_at: float | None = None


@dataclass(frozen=True)
class TokenInfo:
    token_id: str
    role: Role
    name: str
    park: str | None
    created_at: float
    expires_at: float | None
    last_used_at: float | None
    revoked_at: float | None


@dataclass(frozen=True)
class TokenChange:
    """One line of the token audit trail."""

    at: float
    actor: str
    action: str
    token_id: str
    role: Role
    name: str
    park: str | None


class TokenError(ParkLinkError):
    """No, malformed, unknown, expired or revoked token."""


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_id   TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    name       TEXT NOT NULL,
    salt       BLOB NOT NULL,
    digest     BLOB NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS token_audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       REAL NOT NULL,
    actor    TEXT NOT NULL,
    action   TEXT NOT NULL,
    token_id TEXT NOT NULL,
    role     TEXT NOT NULL,
    name     TEXT NOT NULL,
    park     TEXT
);
"""
# Columns added after the first release; a store created before gets them on open.
_ADDED = {"park": "TEXT", "expires_at": "REAL", "last_used_at": "REAL"}


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


class TokenStore:
    """Thread-safe; verified tokens are cached for `cache_s` seconds so a request does not
    hit SQLite, and revocation takes effect within that time. Expiry is checked on every
    call, cached or not."""

    def __init__(self, path: Path, cache_s: float = 2.0) -> None:
        self.path = path
        private_dir(path.parent)
        private_sqlite(path)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        have = {r[1] for r in self._db.execute("PRAGMA table_info(tokens)")}
        for column, kind in _ADDED.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE tokens ADD COLUMN {column} {kind}")
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._cache_s = cache_s
        self._touched: dict[str, float] = {}

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> TokenStore:
        return cls(state_dir / "tokens.db")

    def close(self) -> None:
        self._db.close()

    def issue(
        self,
        role: Role,
        name: str,
        *,
        park: str | None = None,
        ttl: timedelta | None = DEFAULT_TTL,
        by: str = "",
    ) -> str:
        """Create a token and return it; it cannot be shown again. `ttl=None`: no expiry."""
        if (role is Role.PARK_OPERATOR) != (park is not None):
            raise ParkLinkError("a park operator token needs a park, and only it has one")
        if ttl is not None and ttl <= timedelta(0):
            raise ParkLinkError("a token's lifetime must be positive")
        token_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(24)
        salt = secrets.token_bytes(16)
        now = time.time()
        expires = None if ttl is None else now + ttl.total_seconds()
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT INTO tokens (token_id, role, name, salt, digest, created_at, park, "
                "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (token_id, role.value, name, salt, _digest(salt, secret), now, park, expires),
            )
            self._audit(now, by, "token.issue", token_id, role, name, park)
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def revoke(self, token_id: str, by: str = "") -> bool:
        now = time.time()
        with self._lock, self._transaction():
            cur = self._db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE token_id = ? AND revoked_at IS NULL",
                (now, token_id),
            )
            row = self._db.execute(
                "SELECT role, name, park FROM tokens WHERE token_id = ?", (token_id,)
            ).fetchone()
            if cur.rowcount == 1:
                self._audit(now, by, "token.revoke", token_id, Role(row[0]), row[1], row[2])
            self._cache = {k: v for k, v in self._cache.items() if v[1].token_id != token_id}
        return cur.rowcount == 1

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _audit(
        self,
        at: float,
        actor: str,
        action: str,
        token_id: str,
        role: Role,
        name: str,
        park: str | None,
    ) -> None:
        self._db.execute(
            "INSERT INTO token_audit (at, actor, action, token_id, role, name, park) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (at, actor or "unknown", action, token_id, role.value, name, park),
        )

    def list(self) -> list[TokenInfo]:
        with self._lock:
            rows = self._db.execute(
                "SELECT token_id, role, name, park, created_at, expires_at, last_used_at, "
                "revoked_at FROM tokens ORDER BY created_at"
            ).fetchall()
        return [TokenInfo(r[0], Role(r[1]), *r[2:]) for r in rows]

    def changes(self, limit: int = 1000) -> builtins.list[TokenChange]:
        """The token audit trail, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, actor, action, token_id, role, name, park FROM token_audit "
                "ORDER BY at DESC, id DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [TokenChange(r[0], r[1], r[2], r[3], Role(r[4]), r[5], r[6]) for r in rows]

    def verify(self, token: str | None, *, fresh: bool = False) -> Principal:
        """The principal of a valid token; TokenError (with a reason) otherwise. `fresh`
        skips the cache (a long-lived stream re-checking its token)."""
        if not token:
            raise TokenError("no bearer token")
        now = time.monotonic()
        cached = None if fresh else self._cache.get(token)
        if cached is not None and now - cached[0] < self._cache_s:
            return _unexpired(cached[1])
        parts = token.split("_", 2)
        if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
            raise TokenError("malformed token")
        token_id, secret = parts[1], parts[2]
        with self._lock:
            row = self._db.execute(
                "SELECT role, name, salt, digest, revoked_at, park, expires_at "
                "FROM tokens WHERE token_id = ?",
                (token_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(_digest(row[2], secret), row[3]):
            raise TokenError("unknown token")
        if row[4] is not None:
            self._cache.pop(token, None)  # a fresh check found it revoked: so does the next
            raise TokenError("revoked token")
        principal = _unexpired(Principal(token_id, Role(row[0]), row[1], row[5], row[6]))
        self._cache[token] = (now, principal)
        self._touch(token_id)
        return principal

    def _touch(self, token_id: str) -> None:
        now = time.time()
        if now - self._touched.get(token_id, 0.0) < LAST_USED_EVERY_S:
            return
        self._touched[token_id] = now
        with self._lock:
            self._db.execute(
                "UPDATE tokens SET last_used_at = ? WHERE token_id = ?", (now, token_id)
            )


def _unexpired(principal: Principal) -> Principal:
    if principal.expires_at is not None and time.time() >= principal.expires_at:
        raise TokenError("expired token")
    return principal
