"""Files that hold secrets or other parties' data (the state directory, SQLite databases,
keys) are readable by their owner only: the directory 0700, the files 0600, whatever the
process's umask, and files created earlier with wider modes are narrowed on open."""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) if needed; make `path` itself 0700."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty if missing, 0600 from the first moment; narrow it if it exists."""
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    os.chmod(path, FILE_MODE)
    return path


def private_sqlite(path: Path) -> Path:
    """A SQLite database file that is 0600 before SQLite opens it. SQLite gives the -wal and
    -shm files it creates the database file's mode; ones left by an older run are narrowed."""
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            os.chmod(extra, FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Write a secret file that never exists with a wider mode, not even briefly."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.chmod(path, FILE_MODE)
