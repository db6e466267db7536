"""The registry's state, rebuilt from the records of the `_schemas` topic, and the planning of
every change as the records to write: pure logic, no I/O.

Records follow Confluent's layout: key `{"keytype": "SCHEMA", "subject", "version", "magic"}`
with value `{"subject", "version", "id", "schema", "deleted"}`; key `{"keytype": "CONFIG",
"subject"}` with value `{"compatibilityLevel"}`; a null value (tombstone) removes the key.
Keys are serialized with sorted fields so compaction sees one key per subject version.

Several instances may write at once. Records are applied in log order and the first record
that claims a (subject, version) slot or a schema id wins; a later conflicting record is
ignored by everyone, so all instances reach the same state. The writer whose record lost
re-writes the winner under that key (so compaction keeps the winner) and tries again."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

from parklink.registry import errors
from parklink.registry.compatibility import (
    DEFAULT_LEVEL,
    InvalidSchema,
    Level,
    ParsedSchema,
    check_depth,
    level_of,
    parse,
)
from parklink.registry.errors import ApiError

Record = tuple[bytes, bytes | None]


@dataclass(frozen=True)
class Entry:
    subject: str
    version: int
    schema_id: int
    deleted: bool = False


def encode(doc: dict[str, Any] | None) -> bytes | None:
    if doc is None:
        return None
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()


def schema_key(subject: str, version: int) -> bytes:
    doc = {"keytype": "SCHEMA", "magic": 1, "subject": subject, "version": version}
    return encode(doc) or b""


def config_key(subject: str | None) -> bytes:
    return encode({"keytype": "CONFIG", "magic": 0, "subject": subject}) or b""


def schema_record(entry: Entry, schema: ParsedSchema) -> Record:
    value = {
        "subject": entry.subject,
        "version": entry.version,
        "id": entry.schema_id,
        "schema": schema.text,
        "deleted": entry.deleted,
    }
    return schema_key(entry.subject, entry.version), encode(value)


def config_record(subject: str | None, level: Level | None) -> Record:
    return config_key(subject), encode(None if level is None else {"compatibilityLevel": level})


class RegistryState:
    """Subjects, versions, schema ids and compatibility settings. Callers hold `lock` while
    reading; `apply` takes it."""

    def __init__(self, default_level: Level = DEFAULT_LEVEL) -> None:
        self.lock = threading.RLock()
        self.default_level = default_level
        self.global_level: Level | None = None
        self.subject_levels: dict[str, Level] = {}
        self.subjects: dict[str, dict[int, Entry]] = {}
        self.schemas: dict[int, ParsedSchema] = {}
        self.ids_by_identity: dict[str, int] = {}
        self.max_id = 0

    # ---- applying records -------------------------------------------------------------

    def apply(self, key: bytes | None, value: bytes | None) -> bool:
        """Apply one record of the topic; False when it is malformed or lost a conflict."""
        try:
            for raw in (key, value):
                check_depth((raw or b"").decode())
            key_doc = json.loads(key or b"")
            value_doc = None if value is None else json.loads(value)
        except (ValueError, UnicodeDecodeError):  # JSONDecodeError is a ValueError
            return False
        if not isinstance(key_doc, dict):
            return False
        with self.lock:
            if key_doc.get("keytype") == "SCHEMA":
                return self._apply_schema(key_doc, value_doc)
            if key_doc.get("keytype") == "CONFIG":
                return self._apply_config(key_doc, value_doc)
        return False

    def _apply_config(self, key: dict[str, Any], value: Any) -> bool:
        subject = key.get("subject")
        if value is None:
            level = None
        else:
            try:
                level = level_of(value.get("compatibilityLevel") if isinstance(value, dict) else 0)
            except ValueError:
                return False
        if subject is None:
            self.global_level = level
        elif level is None:
            self.subject_levels.pop(str(subject), None)
        else:
            self.subject_levels[str(subject)] = level
        return True

    def _apply_schema(self, key: dict[str, Any], value: Any) -> bool:
        subject, version = key.get("subject"), key.get("version")
        if not isinstance(subject, str) or not isinstance(version, int):
            return False
        versions = self.subjects.get(subject, {})
        if value is None:
            removed = versions.pop(version, None)
            if not versions:
                self.subjects.pop(subject, None)
            if removed is not None:
                self._forget_if_unused(removed.schema_id)
            return True
        if not isinstance(value, dict):
            return False
        schema_id, text = value.get("id"), value.get("schema")
        if not isinstance(schema_id, int) or not isinstance(text, str) or schema_id < 1:
            return False
        existing = versions.get(version)
        if existing is not None and existing.schema_id != schema_id:
            return False
        known = self.schemas.get(schema_id)
        if known is None or known.text != text:
            try:
                parsed = parse(text)
            except InvalidSchema:
                return False
            if known is not None and known.identity != parsed.identity:
                return False
            known = known or parsed
        owner = self.ids_by_identity.get(known.identity)
        if owner is not None and owner != schema_id:
            return False
        self.schemas[schema_id] = known
        self.ids_by_identity[known.identity] = schema_id
        self.max_id = max(self.max_id, schema_id)
        entry = Entry(subject, version, schema_id, bool(value.get("deleted", False)))
        self.subjects.setdefault(subject, {})[version] = entry
        return True

    def _forget_if_unused(self, schema_id: int) -> None:
        for versions in self.subjects.values():
            if any(e.schema_id == schema_id for e in versions.values()):
                return
        schema = self.schemas.pop(schema_id, None)
        if schema is not None:
            self.ids_by_identity.pop(schema.identity, None)

    # ---- queries ----------------------------------------------------------------------

    def level(self, subject: str | None = None) -> Level:
        if subject is not None and subject in self.subject_levels:
            return self.subject_levels[subject]
        return self.global_level or self.default_level

    def subject_names(self, deleted: bool = False) -> list[str]:
        return sorted(s for s, vs in self.subjects.items() if deleted or _live(vs))

    def entries(self, subject: str, deleted: bool = False) -> list[Entry]:
        """The subject's versions, oldest first; 40401 when it has none (live ones unless
        `deleted`)."""
        versions = self.subjects.get(subject, {})
        found = [versions[v] for v in sorted(versions) if deleted or not versions[v].deleted]
        if not found:
            raise errors.subject_not_found(subject)
        return found

    def entry(self, subject: str, version: int | None, deleted: bool = False) -> Entry:
        """One version (None = latest live one)."""
        if version is None:
            return self.entries(subject)[-1]
        found = self.subjects.get(subject, {}).get(version)
        if found is None or (found.deleted and not deleted):
            if subject not in self.subjects:
                raise errors.subject_not_found(subject)
            raise errors.version_not_found(subject, version)
        return found

    def schema(self, schema_id: int) -> ParsedSchema:
        found = self.schemas.get(schema_id)
        if found is None:
            raise errors.schema_not_found(schema_id)
        return found

    def usages(self, schema_id: int, deleted: bool = False) -> list[Entry]:
        self.schema(schema_id)
        return [
            e
            for s in sorted(self.subjects)
            for _, e in sorted(self.subjects[s].items())
            if e.schema_id == schema_id and (deleted or not e.deleted)
        ]

    def lookup(self, subject: str, schema: ParsedSchema, deleted: bool = False) -> Entry:
        """The version of `subject` holding `schema` (the newest if several)."""
        for entry in reversed(self.entries(subject, deleted=deleted)):
            if self.schemas[entry.schema_id].identity == schema.identity:
                return entry
        raise errors.schema_not_found()

    def current_record(self, key: bytes) -> Record:
        """What the topic should hold under `key` now (used to undo a write that lost)."""
        doc = json.loads(key)
        if doc.get("keytype") == "CONFIG":
            subject = doc.get("subject")
            level = self.global_level if subject is None else self.subject_levels.get(subject)
            return config_record(subject, level)
        entry = self.subjects.get(doc["subject"], {}).get(doc["version"])
        if entry is None:
            return key, None
        return schema_record(entry, self.schemas[entry.schema_id])

    # ---- planning changes -------------------------------------------------------------

    def plan_register(self, subject: str, schema: ParsedSchema) -> Entry:
        """The entry registering `schema` under `subject` makes: an existing live one when the
        subject already holds it, else a new version (with the schema's existing id or a new
        one). The caller checks compatibility first."""
        for entry in reversed(list(self.subjects.get(subject, {}).values())):
            if not entry.deleted and self.schemas[entry.schema_id].identity == schema.identity:
                return entry
        schema_id = self.ids_by_identity.get(schema.identity, self.max_id + 1)
        version = max(self.subjects.get(subject, {}), default=0) + 1
        return Entry(subject, version, schema_id)

    def is_stored(self, entry: Entry, schema: ParsedSchema) -> bool:
        """Whether `entry` is in the state, holding `schema` (not a rival's under that id)."""
        held = self.schemas.get(entry.schema_id)
        return (
            self.subjects.get(entry.subject, {}).get(entry.version) == entry
            and held is not None
            and held.identity == schema.identity
        )

    def plan_delete_version(
        self, subject: str, version: int | None, permanent: bool
    ) -> tuple[Entry, Record]:
        if not permanent:
            entry = self.entry(subject, version)
            gone = Entry(entry.subject, entry.version, entry.schema_id, deleted=True)
            return entry, schema_record(gone, self.schemas[entry.schema_id])
        if version is None:
            raise ApiError(
                422, errors.INVALID_VERSION, "The latest version cannot be deleted permanently"
            )
        entry = self.entry(subject, version, deleted=True)
        if not entry.deleted:
            raise ApiError(
                404,
                errors.VERSION_NOT_SOFT_DELETED,
                f"Subject '{subject}' Version {version} was not deleted first before being "
                "permanently deleted",
            )
        return entry, (schema_key(subject, version), None)

    def plan_delete_subject(self, subject: str, permanent: bool) -> tuple[list[int], list[Record]]:
        every = self.entries(subject, deleted=True)
        live = [e for e in every if not e.deleted]
        if not permanent:
            if not live:
                raise ApiError(
                    404, errors.SUBJECT_SOFT_DELETED, f"Subject '{subject}' was soft deleted."
                )
            records = [
                schema_record(
                    Entry(e.subject, e.version, e.schema_id, deleted=True),
                    self.schemas[e.schema_id],
                )
                for e in live
            ]
            return [e.version for e in live], records
        if live:
            raise ApiError(
                404,
                errors.SUBJECT_NOT_SOFT_DELETED,
                f"Subject '{subject}' was not deleted first before being permanently deleted",
            )
        purge: list[Record] = [(schema_key(subject, e.version), None) for e in every]
        if subject in self.subject_levels:
            purge.append(config_record(subject, None))
        return [e.version for e in every], purge


def _live(versions: dict[int, Entry]) -> bool:
    return any(not e.deleted for e in versions.values())
