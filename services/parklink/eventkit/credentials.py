"""Secret files under the state dir: Kafka's TLS material and SCRAM passwords, the registry's
users. Every directory is 0700 and every file 0600, written atomically so a reader never sees
half a secret; secrets are never put in argv or logs (see docs/security.md).

    <state>/secrets/kafka/ca.pem             the local CA (clients trust it)
    <state>/secrets/kafka/ca-key.pem         its key (signs the broker certificate)
    <state>/secrets/kafka/broker.pem         broker key + certificate chain (PEM keystore)
    <state>/secrets/kafka/users/<user>.password
    <state>/secrets/registry/users.json      {"<name>": {"role": ..., "password": ...}}
"""

from __future__ import annotations

import json
import re
import secrets
import stat
from pathlib import Path
from typing import Literal

from parklink.eventkit import private_files
from parklink.eventkit.errors import ParkLinkError

USER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"
RegistryRole = Literal["admin", "writer", "reader"]
REGISTRY_ROLES: tuple[RegistryRole, ...] = ("admin", "writer", "reader")


def secrets_dir(state_dir: Path) -> Path:
    return state_dir / "secrets"


def kafka_secrets_dir(state_dir: Path) -> Path:
    return secrets_dir(state_dir) / "kafka"


def registry_users_file(state_dir: Path) -> Path:
    return secrets_dir(state_dir) / "registry" / "users.json"


def new_password() -> str:
    """A random password (256 bits, URL-safe: no quoting needed in a JAAS line)."""
    return secrets.token_urlsafe(32)


def private_dir(path: Path) -> Path:
    """Create `path` 0700, with every folder between it and the `secrets` folder that holds
    it (never above that folder)."""
    root = next((p for p in (path, *path.parents) if p.name == "secrets"), None)
    return private_files.private_dir(path, root)


def write_secret(path: Path, data: str | bytes) -> None:
    """Write `data` to `path` with mode 0600 from the first byte, replacing it atomically."""
    root = next((p for p in path.parents if p.name == "secrets"), None)
    private_files.write_private(path, data.encode() if isinstance(data, str) else data, root)


def read_secret(path: Path) -> str:
    """The text of a secret file; refuses one that others may read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise ParkLinkError(f"secret file {path} does not exist") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ParkLinkError(f"secret file {path} is readable by others; chmod 600 it")
    return path.read_text(encoding="utf-8").strip()


def check_user(name: str) -> str:
    if not re.fullmatch(USER_PATTERN, name):
        raise ParkLinkError(f"{name!r} is not a valid user name ({USER_PATTERN})")
    return name


def kafka_password_file(secrets: Path, user: str) -> Path:
    return secrets / "users" / f"{check_user(user)}.password"


def ensure_kafka_password(secrets: Path, user: str) -> str:
    """The password of Kafka user `user`, generated (and stored) on first use."""
    path = kafka_password_file(secrets, user)
    if path.exists():
        return read_secret(path)
    password = new_password()
    write_secret(path, password)
    return password


def read_registry_users(path: Path) -> dict[str, tuple[RegistryRole, str]]:
    """{name: (role, password)} from a registry users file."""
    try:
        doc = json.loads(read_secret(path))
    except ValueError as exc:
        raise ParkLinkError(f"registry users file {path} is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise ParkLinkError(f"registry users file {path} must hold an object of users")
    users: dict[str, tuple[RegistryRole, str]] = {}
    for name, entry in doc.items():
        role = entry.get("role") if isinstance(entry, dict) else None
        password = entry.get("password") if isinstance(entry, dict) else None
        if role not in REGISTRY_ROLES or not isinstance(password, str) or not password:
            raise ParkLinkError(
                f"registry users file {path}: {name!r} needs a role ({', '.join(REGISTRY_ROLES)})"
                " and a password"
            )
        users[check_user(str(name))] = (role, password)
    return users


def ensure_registry_users(path: Path) -> dict[str, tuple[RegistryRole, str]]:
    """The registry's users; on first use one user per role, named after it."""
    if path.exists():
        return read_registry_users(path)
    users: dict[str, tuple[RegistryRole, str]] = {r: (r, new_password()) for r in REGISTRY_ROLES}
    doc = {name: {"role": role, "password": pw} for name, (role, pw) in users.items()}
    write_secret(path, json.dumps(doc, indent=2))
    return users
