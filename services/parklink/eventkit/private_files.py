"""Files that hold secrets or other parties' data (the state directory, SQLite databases,
keys) are readable by their owner only: the directory 0700, the files 0600, whatever the
process's umask, and files created earlier with wider modes are narrowed on open."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, root: Path | None = None) -> Path:
    """Create `path` (and parents) if needed and make it 0700. With `root` (an ancestor of
    `path`), every folder from `root` down to `path` is made 0700 too; folders above `root`,
    or above `path` without one, are never touched."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    folders = [path]
    if root is not None and root in path.parents:
        folders += [p for p in path.parents if p == root or root in p.parents]
    for folder in folders:
        os.chmod(folder, DIR_MODE)
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


def write_private(path: Path, data: bytes, root: Path | None = None) -> None:
    """Write a secret file that never exists with a wider mode, not even briefly, and is
    replaced atomically (a reader never sees half of it). `root` as for `private_dir`."""
    private_dir(path.parent, root)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
