"""Private folders and files: 0700/0600, and never a folder above the one asked for."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from parklink.eventkit import credentials
from parklink.eventkit.private_files import private_dir, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_only_the_folder_itself_without_a_root(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    made = private_dir(tmp_path / "a" / "b")
    assert mode(made) == 0o700
    assert mode(tmp_path) == 0o755


def test_folders_up_to_the_secrets_root_and_not_above(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)
    (tmp_path / "secrets" / "kafka").mkdir(parents=True)
    os.chmod(tmp_path / "secrets", 0o755)
    credentials.write_secret(tmp_path / "secrets" / "kafka" / "users" / "admin.password", "pw")
    assert mode(tmp_path / "secrets") == 0o700
    assert mode(tmp_path / "secrets" / "kafka") == 0o700
    assert mode(tmp_path / "secrets" / "kafka" / "users" / "admin.password") == 0o600
    assert mode(tmp_path) == 0o755
    # A secret outside any `secrets` folder touches only its own folder.
    outside = tmp_path / "elsewhere" / "key"
    credentials.write_secret(outside, b"k")
    assert mode(outside.parent) == 0o700 and mode(tmp_path) == 0o755


def test_a_rewrite_is_atomic_and_stays_private(tmp_path: Path) -> None:
    path = tmp_path / "s" / "key"
    write_private(path, b"one")
    write_private(path, b"two")
    assert path.read_bytes() == b"two" and mode(path) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["key"]
