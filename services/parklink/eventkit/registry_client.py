"""A small client of the Confluent Schema Registry REST API (ParkLink's own registry or any
compatible one), with an id <-> schema cache."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import quote

import httpx

from parklink.eventkit.errors import ParkLinkError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryError(ParkLinkError):
    """The registry refused a call or could not be reached."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryClient:
    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.url, timeout=timeout, headers={"Accept": CONTENT_TYPE}
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

    def check_compatibility(self, subject: str, schema: str, version: str = "latest") -> bool:
        doc = self._call(
            "POST",
            f"/compatibility/subjects/{quote(subject, safe='')}/versions/{version}",
            {"schema": schema},
        )
        return bool(doc.get("is_compatible"))

    def ping(self) -> None:
        self._call("GET", "/subjects")
