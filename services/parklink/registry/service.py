"""The registry's operations, as the REST API offers them: validate the request, plan the change
on the state, write it through the store and confirm it was applied. Transport-free: the HTTP
layer (app.py) only maps requests and answers, the store only moves records."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from parklink.registry import errors
from parklink.registry.compatibility import (
    InvalidSchema,
    Level,
    ParsedSchema,
    check,
    level_of,
    parse,
)
from parklink.registry.errors import ApiError
from parklink.registry.state import Entry, Record, RegistryState, config_record, schema_record

log = logging.getLogger(__name__)

WRITE_ATTEMPTS = 5


class Store(Protocol):
    """Durable, ordered storage of records; `write` returns once every record is stored and
    applied to the state (raises ApiError with a 5xxxx code when the backend fails)."""

    def write(self, records: Sequence[Record]) -> None: ...


class Registry:
    def __init__(self, state: RegistryState, store: Store, max_schema_bytes: int) -> None:
        self.state = state
        self.store = store
        self.max_schema_bytes = max_schema_bytes

    # ---- reading ------------------------------------------------------------------------

    def subjects(self, deleted: bool = False) -> list[str]:
        with self.state.lock:
            return self.state.subject_names(deleted)

    def versions(self, subject: str, deleted: bool = False) -> list[int]:
        with self.state.lock:
            return [e.version for e in self.state.entries(subject, deleted)]

    def version(self, subject: str, version: str, deleted: bool = False) -> dict[str, Any]:
        number = errors.parse_version(version)
        with self.state.lock:
            return self._describe(self.state.entry(subject, number, deleted))

    def schema_by_id(self, schema_id: str) -> dict[str, Any]:
        with self.state.lock:
            return {"schema": self.state.schema(_schema_id(schema_id)).text}

    def id_versions(self, schema_id: str, deleted: bool = False) -> list[dict[str, Any]]:
        with self.state.lock:
            usages = self.state.usages(_schema_id(schema_id), deleted)
        return [{"subject": e.subject, "version": e.version} for e in usages]

    def id_subjects(self, schema_id: str, deleted: bool = False) -> list[str]:
        return list(dict.fromkeys(u["subject"] for u in self.id_versions(schema_id, deleted)))

    def lookup(self, subject: str, body: Any, deleted: bool = False) -> dict[str, Any]:
        schema = self.parse_body(body)
        with self.state.lock:
            return self._describe(self.state.lookup(subject, schema, deleted))

    def _describe(self, entry: Entry) -> dict[str, Any]:
        return {
            "subject": entry.subject,
            "version": entry.version,
            "id": entry.schema_id,
            "schema": self.state.schemas[entry.schema_id].text,
        }

    # ---- schemas ------------------------------------------------------------------------

    def parse_body(self, body: Any) -> ParsedSchema:
        """The schema of a register / lookup / compatibility request body."""
        if not isinstance(body, dict):
            raise ApiError(422, errors.INVALID_SCHEMA, "Invalid schema: the body must be an object")
        schema_type = body.get("schemaType")
        if schema_type not in (None, "AVRO"):
            raise ApiError(
                422,
                errors.INVALID_SCHEMA,
                f"Invalid schema type {schema_type!r}: this registry supports AVRO only",
            )
        if body.get("references"):
            raise ApiError(
                422, errors.INVALID_SCHEMA, "Invalid schema: schema references are not supported"
            )
        text = body.get("schema")
        if not isinstance(text, str) or not text.strip():
            raise ApiError(
                422, errors.INVALID_SCHEMA, "Invalid schema: 'schema' must be a non-empty string"
            )
        size = len(text.encode())
        if size > self.max_schema_bytes:
            raise ApiError(
                422,
                errors.INVALID_SCHEMA,
                f"Invalid schema: the schema is too large ({size} bytes; the limit is "
                f"{self.max_schema_bytes} bytes)",
            )
        try:
            return parse(text)
        except InvalidSchema as exc:
            raise ApiError(422, errors.INVALID_SCHEMA, str(exc)) from exc

    def register(self, subject: str, body: Any) -> dict[str, int]:
        schema = self.parse_body(body)
        for _ in range(WRITE_ATTEMPTS):
            with self.state.lock:
                entry = self.state.plan_register(subject, schema)
                if self.state.is_stored(entry, schema):
                    return {"id": entry.schema_id}
                level = self.state.level(subject)
                previous = self._live_schemas(subject)
            problems = check(schema, previous, level)
            if problems:
                raise ApiError(
                    409,
                    errors.INCOMPATIBLE,
                    f"Schema being registered is incompatible with an earlier schema for "
                    f"subject '{subject}' (compatibility {level}): " + "; ".join(problems),
                )
            record = schema_record(entry, schema)
            self.store.write([record])
            with self.state.lock:
                if self.state.is_stored(entry, schema):
                    log.info(
                        "registered %s version %d id %d", subject, entry.version, entry.schema_id
                    )
                    return {"id": entry.schema_id}
                # Another instance claimed the version or the id first: put the winner back
                # as the key's last record, then plan again on the updated state.
                repair = self.state.current_record(record[0])
            self.store.write([repair])
        raise ApiError(
            500, errors.BACKEND_ERROR, f"could not register under '{subject}': too many conflicts"
        )

    def _live_schemas(self, subject: str) -> list[tuple[int, ParsedSchema]]:
        versions = self.state.subjects.get(subject, {})
        return [
            (v, self.state.schemas[e.schema_id])
            for v, e in sorted(versions.items())
            if not e.deleted
        ]

    def test_compatibility(
        self, subject: str, version: str | None, body: Any, verbose: bool
    ) -> dict[str, Any]:
        """Against one version (`version` given) or, for None, against what the subject's level
        asks for (as registering would)."""
        schema = self.parse_body(body)
        with self.state.lock:
            level = self.state.level(subject)
            if version is None:
                previous = self._live_schemas(subject)
            else:
                entry = self.state.entry(subject, errors.parse_version(version))
                previous = [(entry.version, self.state.schemas[entry.schema_id])]
        problems = check(schema, previous, level)
        answer: dict[str, Any] = {"is_compatible": not problems}
        if verbose:
            answer["messages"] = problems
        return answer

    # ---- deleting -----------------------------------------------------------------------

    def delete_version(self, subject: str, version: str, permanent: bool) -> int:
        number = errors.parse_version(version)
        with self.state.lock:
            entry, record = self.state.plan_delete_version(subject, number, permanent)
        self.store.write([record])
        return entry.version

    def delete_subject(self, subject: str, permanent: bool) -> list[int]:
        with self.state.lock:
            versions, records = self.state.plan_delete_subject(subject, permanent)
        self.store.write(records)
        return versions

    # ---- compatibility settings ---------------------------------------------------------

    def get_config(self, subject: str | None, default_to_global: bool = False) -> dict[str, str]:
        with self.state.lock:
            if subject is None or default_to_global:
                return {"compatibilityLevel": self.state.level(subject)}
            level = self.state.subject_levels.get(subject)
        if level is None:
            raise ApiError(
                404,
                errors.SUBJECT_LEVEL_CONFIG_NOT_FOUND,
                f"Subject '{subject}' does not have subject-level compatibility configured",
            )
        return {"compatibilityLevel": level}

    def set_config(self, subject: str | None, body: Any) -> dict[str, str]:
        level = _requested_level(body)
        self.store.write([config_record(subject, level)])
        return {"compatibility": level}

    def delete_config(self, subject: str | None) -> dict[str, str]:
        with self.state.lock:
            known = subject in self.state.subjects or subject in self.state.subject_levels
            if subject is not None and not known:
                raise errors.subject_not_found(subject)
            level = self.state.level(subject)
        self.store.write([config_record(subject, None)])
        return {"compatibilityLevel": level}


def _requested_level(body: Any) -> Level:
    raw = None
    if isinstance(body, dict):
        raw = body.get("compatibility", body.get("compatibilityLevel"))
    try:
        return level_of(raw)
    except ValueError as exc:
        raise ApiError(422, errors.INVALID_COMPATIBILITY_LEVEL, str(exc)) from exc


def _schema_id(raw: str) -> int:
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= errors.MAX_VERSION:
        return int(raw)
    raise errors.schema_not_found(raw)
