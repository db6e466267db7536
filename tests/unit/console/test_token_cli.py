"""`parklink token` for the console's roles, as a user runs it: alliance operators, park
operators, viewers; every token with an expiry unless `--ttl never`; `token list` shows the
expiry and when each token was last used; expired tokens are refused. The token store's own
tests run on SQLite (tokens.db in the state dir) and on PostgreSQL (PARKLINK_TOKENS_DATABASE_URL),
the way replicas share it."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from parklink.eventkit.settings import Settings
from parklink.eventkit.tokens import LAST_USED_EVERY_S, Role, TokenError, TokenStore

DAY = 86400.0


def _parklink(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parklink.cli", "token", *args],
        env={**os.environ, "PARKLINK_STATE_DIR": str(state)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_roles_expiry_and_last_use(tmp_path: Path) -> None:
    state = tmp_path / "state"
    issued = {
        "park-op": _parklink(state, "issue", "--park-operator", "KZ-ALA-IPA", "anna"),
        "viewer": _parklink(state, "issue", "--viewer", "victor", "--ttl", "12h"),
        "service": _parklink(state, "issue", "--operator", "erp-bridge", "--ttl", "never"),
    }
    for name, done in issued.items():
        assert done.returncode == 0, (name, done.stderr)
    issued_tokens = {name: done.stdout.strip() for name, done in issued.items()}
    assert "expires" in issued["park-op"].stderr
    assert "never expires" in issued["service"].stderr

    store = TokenStore.in_state_dir(state)
    try:
        now = time.time()
        anna = store.verify(issued_tokens["park-op"])
        assert (anna.role, anna.name, anna.park) == (Role.PARK_OPERATOR, "anna", "KZ-ALA-IPA")
        assert anna.expires_at is not None
        assert 89 * DAY < anna.expires_at - now <= 90 * DAY
        victor = store.verify(issued_tokens["viewer"])
        assert victor.role is Role.VIEWER
        assert victor.expires_at is not None
        assert victor.expires_at - now <= 12 * 3600
        assert store.verify(issued_tokens["service"]).expires_at is None
    finally:
        store.close()

    listing = _parklink(state, "list").stdout
    header, *rows = listing.splitlines()
    assert header.split() == [
        "ID",
        "ROLE",
        "NAME",
        "PARK",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "REVOKED",
    ]
    by_name = {r.split()[2]: r for r in rows}
    assert "park-operator" in by_name["anna"] and "KZ-ALA-IPA" in by_name["anna"]
    assert "never" in by_name["erp-bridge"]
    # Used once above: the last-used column holds a time, not "-".
    assert by_name["victor"].split()[-2] != "-"


@pytest.mark.parametrize(
    "args",
    [
        ("issue", "--park-operator", "qingdao", "anna"),
        ("issue", "--viewer", "  "),
        ("issue", "--operator", "olga", "--ttl", "soon"),
        ("issue", "--operator", "olga", "--ttl", "0d"),
        ("issue", "--park-operator", "KZ-ALA-IPA"),
    ],
)
def test_bad_requests_are_refused(tmp_path: Path, args: tuple[str, ...]) -> None:
    done = _parklink(tmp_path, *args)
    assert done.returncode != 0
    assert done.stdout == ""


@pytest.fixture
def open_tokens(
    new_database: Callable[[], str], tmp_path: Path
) -> Iterator[Callable[[], TokenStore]]:
    """Opens token stores as the services do (`TokenStore.from_settings`) on the parametrized
    backend: SQLite is the default tokens.db in the state dir, PostgreSQL a fresh database
    named by PARKLINK_TOKENS_DATABASE_URL. Every call opens another store on the same
    database (another replica); all are closed after the test."""
    url = new_database()
    shared = None if url.startswith("sqlite") else SecretStr(url)
    settings = Settings(state_dir=tmp_path / "state", tokens_database_url=shared)
    opened: list[TokenStore] = []

    def open_() -> TokenStore:
        opened.append(TokenStore.from_settings(settings))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()


def test_an_expired_token_is_refused_even_when_cached(
    open_tokens: Callable[[], TokenStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_tokens()
    token = store.issue(Role.OPERATOR, "olga", ttl=timedelta(hours=1))
    assert store.verify(token).name == "olga"  # now in the cache
    later = time.time() + 2 * 3600
    monkeypatch.setattr(time, "time", lambda: later)  # the clock the store reads
    with pytest.raises(TokenError, match="expired"):
        store.verify(token)
    with pytest.raises(TokenError, match="expired"):
        store.verify(token, fresh=True)


def test_issue_and_revoke_are_audited(open_tokens: Callable[[], TokenStore]) -> None:
    store = open_tokens()
    token = store.issue(Role.VIEWER, "victor", by="cli:ops")
    assert store.revoke(token.split("_")[1], by="cli:ops")
    assert not store.revoke(token.split("_")[1], by="cli:ops")
    assert not store.revoke("0123456789ab", by="cli:ops")  # unknown: nothing to audit
    changes = [(c.action, c.actor, c.name) for c in store.changes()]
    assert changes == [("token.revoke", "cli:ops", "victor"), ("token.issue", "cli:ops", "victor")]
    with pytest.raises(TokenError, match="revoked"):
        store.verify(token)


def test_refusals_name_their_reason(open_tokens: Callable[[], TokenStore]) -> None:
    store = open_tokens()
    token = store.issue(Role.PARK, "CN-QD-SCODA")
    _, token_id, secret = token.split("_", 2)
    for bad, reason in [
        (None, "no bearer token"),
        ("", "no bearer token"),
        ("plk-nothing", "malformed"),
        (f"xyz_{token_id}_{secret}", "malformed"),
        (f"plk_{token_id}_{secret}x", "unknown"),  # the right id, a wrong secret
        (f"plk_0123456789ab_{secret}", "unknown"),
    ]:
        with pytest.raises(TokenError, match=reason):
            store.verify(bad)
    assert store.verify(token).name == "CN-QD-SCODA"


def test_last_use_is_written_at_most_once_a_minute(
    open_tokens: Callable[[], TokenStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = open_tokens()
    token = store.issue(Role.VIEWER, "victor")
    t0 = time.time()
    clock = [t0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    assert store.list()[0].last_used_at is None
    store.verify(token, fresh=True)
    assert store.list()[0].last_used_at == t0
    clock[0] = t0 + LAST_USED_EVERY_S / 2
    store.verify(token, fresh=True)
    assert store.list()[0].last_used_at == t0  # throttled: not written again
    clock[0] = t0 + LAST_USED_EVERY_S + 1
    store.verify(token, fresh=True)
    assert store.list()[0].last_used_at == t0 + LAST_USED_EVERY_S + 1


def test_two_replicas_share_their_tokens(open_tokens: Callable[[], TokenStore]) -> None:
    """Two gateways (or consoles) on one database: a token issued by one is accepted by the
    other, and a revocation by one is refused by the other once it checks again (after its
    cache; `fresh` skips the cache, as a stream re-checking its token does)."""
    first, second = open_tokens(), open_tokens()
    token = first.issue(Role.PARK_OPERATOR, "anna", park="KZ-ALA-IPA", by="cli:ops")
    anna = second.verify(token)
    assert (anna.role, anna.name, anna.park) == (Role.PARK_OPERATOR, "anna", "KZ-ALA-IPA")
    assert anna == first.verify(token)
    assert anna.expires_at == second.list()[0].expires_at
    other = second.issue(Role.VIEWER, "victor")
    assert first.verify(other).name == "victor"

    assert first.revoke(anna.token_id, by="cli:ops")
    with pytest.raises(TokenError, match="revoked"):
        second.verify(token, fresh=True)
    with pytest.raises(TokenError, match="revoked"):
        second.verify(token)  # the fresh check dropped it from the cache
    assert not second.revoke(anna.token_id)
    assert second.verify(other).name == "victor"
    assert [(c.action, c.name) for c in second.changes()] == [
        ("token.revoke", "anna"),
        ("token.issue", "victor"),
        ("token.issue", "anna"),
    ]


def test_a_token_revoked_by_two_replicas_at_once_is_revoked_once(
    open_tokens: Callable[[], TokenStore],
) -> None:
    stores = [open_tokens() for _ in range(4)]
    token_id = stores[0].issue(Role.OPERATOR, "olga").split("_")[1]
    start = threading.Barrier(len(stores))
    results: list[bool] = []

    def revoke(store: TokenStore) -> None:
        start.wait()
        results.append(store.revoke(token_id, by=f"replica-{stores.index(store)}"))

    threads = [threading.Thread(target=revoke, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    revocations = [c for c in stores[1].changes() if c.action == "token.revoke"]
    assert len(revocations) == 1
    assert [t.revoked_at is not None for t in stores[2].list()] == [True]


def test_a_token_store_from_before_roles_is_upgraded(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "tokens.db") as db:
        db.execute(
            "CREATE TABLE tokens (token_id TEXT PRIMARY KEY, role TEXT NOT NULL, name TEXT NOT "
            "NULL, salt BLOB NOT NULL, digest BLOB NOT NULL, created_at REAL NOT NULL, "
            "revoked_at REAL)"
        )
    store = TokenStore.in_state_dir(tmp_path)
    try:
        token = store.issue(Role.PARK_OPERATOR, "anna", park="KZ-ALA-IPA")
        assert store.verify(token).park == "KZ-ALA-IPA"
    finally:
        store.close()
