"""Bearer tokens for parks (gateway) and people and services of the console: alliance
operators, park operators (one park's alerts) and viewers (read only). A token is shown once
when issued; only a salted SHA-256 of its secret is stored: in SQLite in the state dir (0600)
by default, or in PostgreSQL (PARKLINK_TOKENS_DATABASE_URL) when several gateways and
consoles share their tokens.
Tokens look like `plk_<id>_<secret>`: the id finds the row, the secret is compared in constant
time. Every token expires unless issued explicitly without an expiry; the store notes when
each was last used, and every issue and revocation in its audit table."""

from __future__ import annotations

import builtins
import hashlib
import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from parklink.eventkit.database import (
    engine_url,
    make_private,
    open_engine,
    serialize_migration,
    sqlite_url,
)
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings

log = logging.getLogger(__name__)

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


class TokensUnavailable(ParkLinkError):
    """The token database did not answer, so nothing can be said of a token: not a refusal
    of the caller (401) but a passing failure of the service (503, with Retry-After)."""

    retry_after_s = 5


_metadata = MetaData()
_tokens = Table(
    "tokens",
    _metadata,
    Column("token_id", Text, primary_key=True),
    Column("role", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("salt", LargeBinary, nullable=False),
    Column("digest", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
    Column("park", Text),
    Column("expires_at", Float),
    Column("last_used_at", Float),
)
_audit = Table(
    "token_audit",
    _metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("token_id", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("park", Text),
    sqlite_autoincrement=True,
)
_ADDED = ("park", "expires_at", "last_used_at")
"""Columns added after the first release; a store created before gets them on open."""
MIGRATION_LOCK = 0x504C4B544F4B454E  # pg_advisory_xact_lock key ("PLKTOKEN")


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()


def _migrate(conn: Connection) -> None:
    serialize_migration(conn, MIGRATION_LOCK)  # replicas sharing a database start together
    _metadata.create_all(conn, checkfirst=True)
    have = {c["name"] for c in inspect(conn).get_columns(_tokens.name)}
    quote = conn.dialect.identifier_preparer.quote
    for name in _ADDED:
        if name not in have:
            kind = _tokens.c[name].type.compile(dialect=conn.dialect)
            conn.exec_driver_sql(f"ALTER TABLE {quote(_tokens.name)} ADD COLUMN {name} {kind}")


class TokenStore:
    """Thread-safe; verified tokens are cached for `cache_s` seconds so a request does not
    hit the database, and revocation takes effect within that time (in every process sharing
    the database). Expiry is checked on every call, cached or not."""

    def __init__(self, engine: Engine, cache_s: float = 2.0) -> None:
        """Takes over `engine` (closed with the store) and brings its tables up to date."""
        self.engine = engine
        with engine.begin() as conn:
            _migrate(conn)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Principal]] = {}
        self._cache_s = cache_s
        self._touched: dict[str, float] = {}

    @classmethod
    def open(cls, url: str, cache_s: float = 2.0) -> TokenStore:
        """The store in the database at a SQLAlchemy URL (a SQLite file is kept 0600)."""
        make_private(url)
        engine = open_engine(url)
        try:
            return cls(engine, cache_s)
        except (SQLAlchemyError, OSError) as exc:
            engine.dispose()
            raise ParkLinkError(f"cannot open the token database: {exc}") from exc

    @classmethod
    def in_state_dir(cls, state_dir: Path) -> TokenStore:
        return cls.open(sqlite_url(state_dir / "tokens.db"))

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenStore:
        """PARKLINK_TOKENS_DATABASE_URL's database, else tokens.db in the state dir."""
        if settings.tokens_database_url is None:
            return cls.in_state_dir(settings.state_dir)
        return cls.open(engine_url(settings.tokens_database_url.get_secret_value()))

    def close(self) -> None:
        self.engine.dispose()

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
        with self.engine.begin() as conn:  # the token and its audit line, or neither
            conn.execute(
                insert(_tokens).values(
                    token_id=token_id,
                    role=role.value,
                    name=name,
                    salt=salt,
                    digest=_digest(salt, secret),
                    created_at=now,
                    park=park,
                    expires_at=expires,
                )
            )
            _record(conn, now, by, "token.issue", token_id, role, name, park)
        return f"{TOKEN_PREFIX}_{token_id}_{secret}"

    def revoke(self, token_id: str, by: str = "") -> bool:
        """True when this call revoked the token; False when it is unknown or was revoked
        already. Of two processes revoking one token at once, exactly one gets True and
        writes the audit line: the conditional UPDATE takes the row's lock, and the other
        re-checks `revoked_at` once that commits."""
        now = time.time()
        with self.engine.begin() as conn:
            row = conn.execute(
                update(_tokens)
                .where(_tokens.c.token_id == token_id, _tokens.c.revoked_at.is_(None))
                .values(revoked_at=now)
                .returning(_tokens.c.role, _tokens.c.name, _tokens.c.park)
            ).first()
            if row is not None:
                _record(conn, now, by, "token.revoke", token_id, Role(row[0]), row[1], row[2])
        with self._lock:
            self._cache = {k: v for k, v in self._cache.items() if v[1].token_id != token_id}
        return row is not None

    def list(self) -> builtins.list[TokenInfo]:
        t = _tokens.c
        query = select(
            t.token_id,
            t.role,
            t.name,
            t.park,
            t.created_at,
            t.expires_at,
            t.last_used_at,
            t.revoked_at,
        ).order_by(t.created_at)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [TokenInfo(r[0], Role(r[1]), *r[2:]) for r in rows]

    def changes(self, limit: int = 1000) -> builtins.list[TokenChange]:
        """The token audit trail, newest first."""
        a = _audit.c
        query = (
            select(a.at, a.actor, a.action, a.token_id, a.role, a.name, a.park)
            .order_by(a.at.desc(), a.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
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
        t = _tokens.c
        query = select(t.role, t.name, t.salt, t.digest, t.revoked_at, t.park, t.expires_at).where(
            t.token_id == token_id
        )
        try:
            with self.engine.connect() as conn:
                row = conn.execute(query).first()
        except SQLAlchemyError as exc:
            raise TokensUnavailable(
                f"the token database did not answer: {_first_line(exc)}"
            ) from exc
        if row is None or not hmac.compare_digest(_digest(bytes(row[2]), secret), bytes(row[3])):
            raise TokenError("unknown token")
        if row[4] is not None:
            with self._lock:  # a fresh check found it revoked: so does the next
                self._cache.pop(token, None)
            raise TokenError("revoked token")
        principal = _unexpired(Principal(token_id, Role(row[0]), row[1], row[5], row[6]))
        with self._lock:
            self._cache[token] = (now, principal)
        self._touch(token_id)
        return principal

    def _touch(self, token_id: str) -> None:
        now = time.time()
        with self._lock:
            if now - self._touched.get(token_id, 0.0) < LAST_USED_EVERY_S:
                return
            self._touched[token_id] = now
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    update(_tokens).where(_tokens.c.token_id == token_id).values(last_used_at=now)
                )
        except SQLAlchemyError as exc:  # the token was verified; only the note is missing
            log.warning("could not note the use of token %s: %s", token_id, _first_line(exc))


def _first_line(exc: SQLAlchemyError) -> str:
    """The driver's message without SQLAlchemy's SQL text and help link."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__


def _record(
    conn: Connection,
    at: float,
    actor: str,
    action: str,
    token_id: str,
    role: Role,
    name: str,
    park: str | None,
) -> None:
    conn.execute(
        insert(_audit).values(
            at=at,
            actor=actor or "unknown",
            action=action,
            token_id=token_id,
            role=role.value,
            name=name,
            park=park,
        )
    )


def _unexpired(principal: Principal) -> Principal:
    if principal.expires_at is not None and time.time() >= principal.expires_at:
        raise TokenError("expired token")
    return principal
