"""`parklink token` for the console's roles, as a user runs it: alliance operators, park
operators, viewers; every token with an expiry unless `--ttl never`; `token list` shows the
expiry and when each token was last used; expired tokens are refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from parklink.eventkit.tokens import Role, TokenError, TokenStore

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


def test_an_expired_token_is_refused_even_when_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    try:
        token = store.issue(Role.OPERATOR, "olga", ttl=timedelta(hours=1))
        assert store.verify(token).name == "olga"  # now in the cache
        later = time.time() + 2 * 3600
        monkeypatch.setattr(time, "time", lambda: later)  # the clock the store reads
        with pytest.raises(TokenError, match="expired"):
            store.verify(token)
        with pytest.raises(TokenError, match="expired"):
            store.verify(token, fresh=True)
    finally:
        store.close()


def test_issue_and_revoke_are_audited(tmp_path: Path) -> None:
    store = TokenStore.in_state_dir(tmp_path)
    try:
        token = store.issue(Role.VIEWER, "victor", by="cli:ops")
        assert store.revoke(token.split("_")[1], by="cli:ops")
        assert not store.revoke(token.split("_")[1], by="cli:ops")
        changes = [(c.action, c.actor, c.name) for c in store.changes()]
    finally:
        store.close()
    assert changes == [("token.revoke", "cli:ops", "victor"), ("token.issue", "cli:ops", "victor")]


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
