"""The topic catalog (`schemas/topics.toml`): names, keys, value schemas and how Kafka keeps
each topic. Every service looks its topics up here instead of spelling names out."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.paths import SCHEMAS_DIR

CATALOG_PATH = SCHEMAS_DIR / "topics.toml"
CLEANUP_POLICIES = {"delete", "compact", "compact,delete"}
_KNOWN_FIELDS = {
    "name",
    "key",
    "value",
    "partitions",
    "replication_factor",
    "min_insync_replicas",
    "cleanup_policy",
    "retention_ms",
    "message_timestamp_type",
}
TIMESTAMP_TYPES = {"CreateTime", "LogAppendTime"}


@dataclass(frozen=True)
class TopicSpec:
    role: str  # catalog entry name: orders, shipments, capacity, alerts, dlq
    name: str  # without the prefix
    key: str
    value: str | None  # Avro record name, None for raw-bytes topics (the DLQ)
    partitions: int
    replication_factor: int
    min_insync_replicas: int
    cleanup_policy: str
    retention_ms: int | None
    message_timestamp_type: str = "CreateTime"

    def topic(self, prefix: str) -> str:
        return prefix + self.name

    def subject(self, prefix: str) -> str:
        """Schema Registry subject under the topic-name strategy."""
        return f"{self.topic(prefix)}-value"

    def configs(self, replication_factor: int) -> dict[str, str]:
        conf = {
            "cleanup.policy": self.cleanup_policy,
            "min.insync.replicas": str(min(self.min_insync_replicas, replication_factor)),
        }
        if self.retention_ms is not None:
            conf["retention.ms"] = str(self.retention_ms)
        if self.message_timestamp_type != "CreateTime":
            conf["message.timestamp.type"] = self.message_timestamp_type
        return conf


@dataclass(frozen=True)
class Catalog:
    topics: dict[str, TopicSpec]

    def __getitem__(self, role: str) -> TopicSpec:
        try:
            return self.topics[role]
        except KeyError as exc:
            raise ParkLinkError(f"the topic catalog has no entry {role!r}") from exc

    def by_value(self, record_name: str) -> TopicSpec:
        for spec in self.topics.values():
            if spec.value == record_name:
                return spec
        raise ParkLinkError(f"no topic in the catalog carries {record_name!r}")


def _positive_int(where: str, field: str, raw: Any) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
        raise ParkLinkError(f"{where}: {field} must be a whole number >= 1, got {raw!r}")
    return raw


def parse_catalog(doc: dict[str, Any], where: str = "topic catalog") -> Catalog:
    entries = doc.get("topics")
    if not isinstance(entries, dict) or not entries:
        raise ParkLinkError(f"{where}: needs a [topics.<role>] table for each topic")
    topics: dict[str, TopicSpec] = {}
    for role, raw in entries.items():
        at = f"{where}: [topics.{role}]"
        if not isinstance(raw, dict):
            raise ParkLinkError(f"{at} must be a table")
        unknown = set(raw) - _KNOWN_FIELDS
        if unknown:
            raise ParkLinkError(f"{at}: unknown field(s) {', '.join(sorted(unknown))}")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ParkLinkError(f"{at}: name must be a non-empty string")
        policy = raw.get("cleanup_policy", "delete")
        if policy not in CLEANUP_POLICIES:
            raise ParkLinkError(
                f"{at}: cleanup_policy {policy!r} is not one of {sorted(CLEANUP_POLICIES)}"
            )
        retention = raw.get("retention_ms")
        if retention is not None and (not isinstance(retention, int) or retention < -1):
            raise ParkLinkError(f"{at}: retention_ms must be a whole number (-1 for forever)")
        timestamps = raw.get("message_timestamp_type", "CreateTime")
        if timestamps not in TIMESTAMP_TYPES:
            raise ParkLinkError(
                f"{at}: message_timestamp_type {timestamps!r} is not one of "
                f"{sorted(TIMESTAMP_TYPES)}"
            )
        topics[role] = TopicSpec(
            role=role,
            name=name,
            key=str(raw.get("key", "")),
            value=raw.get("value"),
            partitions=_positive_int(at, "partitions", raw.get("partitions", 1)),
            replication_factor=_positive_int(
                at, "replication_factor", raw.get("replication_factor", 1)
            ),
            min_insync_replicas=_positive_int(
                at, "min_insync_replicas", raw.get("min_insync_replicas", 1)
            ),
            cleanup_policy=policy,
            retention_ms=retention,
            message_timestamp_type=timestamps,
        )
    return Catalog(topics)


def load_catalog(path: Path = CATALOG_PATH) -> Catalog:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ParkLinkError(f"topic catalog {path} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ParkLinkError(f"{path}: not valid TOML: {exc}") from exc
    return parse_catalog(doc, str(path))
