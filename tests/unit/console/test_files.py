"""A fresh state directory after `parklink token issue` and a console run that stored alerts
and a webhook: nothing in it is readable by the group or others (`ls -l` would show
`-rw-------` and `drwx------`), the SQLite -wal/-shm files included; older files with wider
modes are narrowed on open."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from factories import alert
from unit.console.served import Served

from parklink.console.app import open_store
from parklink.console.config import ConsoleSettings
from parklink.console.storage import Incoming


def _listing(root: Path) -> list[tuple[str, str]]:
    """(`ls -l` mode, path) of the directory and everything under it."""
    out = [(stat.filemode(root.stat().st_mode), ".")]
    for path in sorted(root.rglob("*")):
        out.append((stat.filemode(path.stat().st_mode), str(path.relative_to(root))))
    return out


def _open_to_others(listing: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(mode, name) for mode, name in listing if mode[4:] != "------"]


def test_a_fresh_state_dir_keeps_everything_to_its_owner(tmp_path: Path) -> None:
    state = tmp_path / "fresh"
    env = {**os.environ, "PARKLINK_STATE_DIR": str(state)}
    issued = subprocess.run(
        [sys.executable, "-m", "parklink.cli", "token", "issue", "--operator", "olga"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert issued.returncode == 0, issued.stderr
    store = open_store(ConsoleSettings(state_dir=state))
    try:
        store.apply("alerts", [Incoming(alert(), 0, 0)], datetime.now(UTC))
    finally:
        store.close()
    listing = _listing(state)
    print("\n".join(f"{mode}  {name}" for mode, name in listing))
    names = {name for _, name in listing}
    assert {"tokens.db", "console.db", "webhook-secrets.key"} <= names
    assert _open_to_others(listing) == []
    assert listing[0][0] == "drwx------"


def test_a_served_console_leaves_no_file_open_to_others(served: Served) -> None:
    served.feed(alert())
    created = served.call("operator", "POST", "/v1/webhooks", {"url": "https://erp.example/in"})
    assert created.status_code == 201
    listing = _listing(served.state)
    print("\n".join(f"{mode}  {name}" for mode, name in listing))
    names = {name for _, name in listing}
    assert {"console.db-wal", "console.db-shm", "tokens.db-wal"} <= names
    assert _open_to_others(listing) == []


def test_files_left_with_wider_modes_are_narrowed(tmp_path: Path) -> None:
    state = tmp_path / "old"
    store = open_store(ConsoleSettings(state_dir=state))
    store.close()
    os.chmod(state, 0o755)
    for path in state.iterdir():
        os.chmod(path, 0o644)
    open_store(ConsoleSettings(state_dir=state)).close()
    assert _open_to_others(_listing(state)) == []
