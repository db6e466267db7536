"""A small client of the Confluent Schema Registry REST API (ParkLink's own registry or any
compatible one), with an id <-> schema cache. It authenticates with HTTP Basic as the
`PARKLINK_REGISTRY_USER` (password from PARKLINK_REGISTRY_PASSWORD or the state dir's registry
users file), or calls anonymously (reads only) when no user is set."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from parklink.eventkit import credentials
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings, load_settings

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(ParkLinkError):
    """The registry refused a call or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


def registry_credentials(
    settings: Settings | None = None, user: str | None = None
) -> tuple[str, SecretStr] | None:
    """(user, password) for the registry from the settings (or for `user`); None: anonymous."""
    s = settings if settings is not None else load_settings(Settings)
    name = user or s.registry_user
    if name is None:
        return None
    if user is None and s.registry_password is not None:
        return name, s.registry_password
    path = s.registry_users_file or credentials.registry_users_file(s.state_dir)
    try:
        entry = credentials.read_registry_users(path).get(name)
    except ParkLinkError as exc:
        raise ParkLinkError(
            f"no registry password for {name}: set PARKLINK_REGISTRY_PASSWORD ({exc})"
        ) from exc
    if entry is None:
        raise ParkLinkError(f"registry user {name} is not in {path}")
    return name, SecretStr(entry[1])


def confluent_registry_conf(url: str, auth: tuple[str, SecretStr] | None) -> dict[str, str]:
    """confluent-kafka SchemaRegistryClient settings with the same credentials."""
    conf = {"url": url}
    if auth is not None:
        conf["basic.auth.user.info"] = f"{auth[0]}:{auth[1].get_secret_value()}"
    return conf


class RegistryClient:
    def __init__(
        self,
        url: str,
        timeout: float = 10.0,
        auth: tuple[str, SecretStr] | None = None,
        *,
        anonymous: bool = False,
    ) -> None:
        """`auth` defaults to `registry_credentials()`; `anonymous=True` sends none."""
        self.url = url.rstrip("/")
        if auth is None and not anonymous:
            auth = registry_credentials()
        self.user = auth[0] if auth else None
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout,
            headers={"Accept": CONTENT_TYPE},
            auth=httpx.BasicAuth(auth[0], auth[1].get_secret_value()) if auth else None,
        )
        self._by_id: dict[int, str] = {}
        self._ids: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            resp = self._http.request(
                method,
                path,
                content=None if body is None else json.dumps(body),
                headers={"Content-Type": CONTENT_TYPE},
            )
        except httpx.HTTPError as exc:
            raise RegistryError(f"schema registry at {self.url} unreachable: {exc}") from exc
        if resp.status_code >= 400:
            try:
                err = resp.json()
                code, msg = err.get("error_code"), err.get("message", resp.text)
            except ValueError:
                code, msg = None, resp.text
            raise RegistryError(
                f"schema registry {method} {path}: {resp.status_code} {msg}",
                status=resp.status_code,
                code=code,
            )
        return resp.json()

    def register(self, subject: str, schema: str) -> int:
        """Register `schema` under `subject` (idempotent: the same schema keeps its id)."""
        with self._lock:
            cached = self._ids.get((subject, schema))
        if cached is not None:
            return cached
        doc = self._call(
            "POST", f"/subjects/{quote(subject, safe='')}/versions", {"schema": schema}
        )
        schema_id = int(doc["id"])
        with self._lock:
            self._ids[(subject, schema)] = schema_id
            self._by_id[schema_id] = schema
        return schema_id

    def lookup(self, subject: str, schema: str) -> int:
        """The id of `schema` if it is already registered under `subject`."""
        with self._lock:
            cached = self._ids.get((subject, schema))
        if cached is not None:
            return cached
        doc = self._call("POST", f"/subjects/{quote(subject, safe='')}", {"schema": schema})
        schema_id = int(doc["id"])
        with self._lock:
            self._ids[(subject, schema)] = schema_id
        return schema_id

    def lookup_version(self, subject: str, schema: str) -> dict[str, Any]:
        """Where `schema` is registered under `subject`: {"subject", "version", "id", "schema"}
        (not cached: versions change when a subject is deleted)."""
        doc: dict[str, Any] = self._call(
            "POST", f"/subjects/{quote(subject, safe='')}", {"schema": schema}
        )
        return doc

    def schema_by_id(self, schema_id: int) -> str:
        with self._lock:
            cached = self._by_id.get(schema_id)
        if cached is not None:
            return cached
        doc = self._call("GET", f"/schemas/ids/{schema_id}")
        schema = str(doc["schema"])
        with self._lock:
            self._by_id[schema_id] = schema
        return schema

    def ping(self) -> None:
        self._call("GET", "/subjects")
