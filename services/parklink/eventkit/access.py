"""Who may do what on Kafka: ParkLink's principals and the least-privilege ACLs of each, as
data (no I/O), plus applying them with an admin client. See docs/security.md.

Services each have their own principal. A park that writes straight to Kafka is User:park-<ID>
and may write only its own ingress topics (`<prefix>ingress.<ID>.<topic>`); the relay checks
that every record there speaks for that park before it reaches the shared park topics."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaAdminClient
from kafka.admin import (
    ACL,
    ACLFilter,
    ACLOperation,
    ACLPermissionType,
    ACLResourcePatternType,
    NewTopic,
    ResourcePattern,
    ResourcePatternFilter,
    ResourceType,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka.errors import KafkaError, TopicAlreadyExistsError

from parklink.eventkit import bus
from parklink.eventkit.catalog import Catalog
from parklink.eventkit.contracts import PARK_ID_PATTERN
from parklink.eventkit.errors import ParkLinkError

log = logging.getLogger(__name__)

SOURCES = ("orders", "shipments", "capacity")
SERVICES = ("registry", "gateway", "detector", "console", "relay")
INGRESS = "ingress."
SCRAM_ITERATIONS = 8192

Op = ACLOperation
TOPIC, GROUP = ResourceType.TOPIC, ResourceType.GROUP
LITERAL, PREFIXED = ACLResourcePatternType.LITERAL, ACLResourcePatternType.PREFIXED


@dataclass(frozen=True)
class Grant:
    """ALLOW `operations` on one resource (a literal name or a name prefix)."""

    resource: ResourceType
    name: str
    operations: tuple[ACLOperation, ...]
    pattern: ACLResourcePatternType = LITERAL


@dataclass(frozen=True)
class Names:
    """The names the ACLs are written for (all configurable, so tests can use their own)."""

    prefix: str = "alliance."
    registry_topic: str = "_schemas"
    detector_group: str = "parklink-detector"
    relay_group: str = "parklink-relay"

    def topic(self, catalog: Catalog, role: str) -> str:
        return catalog[role].topic(self.prefix)


def park_principal(park_id: str) -> str:
    """The Kafka user of a park: `park-<ID>`."""
    if not re.fullmatch(PARK_ID_PATTERN, park_id) or "." in park_id:
        raise ParkLinkError(f"{park_id!r} is not a park id (like CN-QD-SCODA)")
    return f"park-{park_id}"


def ingress_prefix(prefix: str, park_id: str) -> str:
    """Every ingress topic of `park_id` starts with this (the trailing dot keeps park A's
    prefix from matching park AB's topics)."""
    park_principal(park_id)
    return f"{prefix}{INGRESS}{park_id}."


def ingress_topic(catalog: Catalog, prefix: str, park_id: str, role: str) -> str:
    """Where park `park_id` writes its `role` events (orders, shipments, capacity)."""
    if role not in SOURCES:
        raise ParkLinkError(f"parks publish only {', '.join(SOURCES)}, not {role!r}")
    return ingress_prefix(prefix, park_id) + catalog[role].name


def ingress_park(prefix: str, topic: str) -> tuple[str, str] | None:
    """(park id, topic name without prefix) of an ingress topic, None for any other topic."""
    head = prefix + INGRESS
    if not topic.startswith(head):
        return None
    park, _, rest = topic[len(head) :].partition(".")
    if not rest or not re.fullmatch(PARK_ID_PATTERN, park):
        return None
    return park, rest


_READ = (Op.READ, Op.DESCRIBE)
_WRITE = (Op.WRITE, Op.DESCRIBE)


def service_grants(service: str, catalog: Catalog, names: Names) -> list[Grant]:
    """What each ParkLink service needs, and nothing more."""
    sources = [names.topic(catalog, r) for r in SOURCES]
    alerts, dlq = names.topic(catalog, "alerts"), names.topic(catalog, "dlq")
    if service == "registry":
        ops = (Op.READ, Op.WRITE, Op.DESCRIBE, Op.CREATE, Op.DESCRIBE_CONFIGS)
        return [Grant(TOPIC, names.registry_topic, ops)]
    if service == "gateway":
        return [Grant(TOPIC, t, _WRITE) for t in sources]
    if service == "detector":
        group = names.detector_group
        return [
            *(Grant(TOPIC, t, _READ) for t in sources),
            Grant(TOPIC, alerts, (Op.READ, Op.WRITE, Op.DESCRIBE)),
            Grant(TOPIC, dlq, _WRITE),
            # its own repartition/changelog topics, and faust's leader-election topic
            Grant(TOPIC, f"{names.prefix}{group}-", (Op.ALL,), PREFIXED),
            Grant(TOPIC, f"{group}-", (Op.ALL,), PREFIXED),
            Grant(GROUP, group, _READ, PREFIXED),
        ]
    if service == "console":
        return [Grant(TOPIC, alerts, _READ)]
    if service == "relay":
        return [
            Grant(TOPIC, names.prefix + INGRESS, _READ, PREFIXED),
            *(Grant(TOPIC, t, _WRITE) for t in sources),
            Grant(TOPIC, dlq, _WRITE),
            Grant(GROUP, names.relay_group, _READ),
        ]
    raise ParkLinkError(f"no such service {service!r} (one of {', '.join(SERVICES)})")


def park_grants(park_id: str, catalog: Catalog, names: Names) -> list[Grant]:
    """A park writes only its own ingress topics; it reads what the alliance shares (the park
    topics and the alerts) in consumer groups named `park-<ID>.…`."""
    user = park_principal(park_id)
    shared = [names.topic(catalog, r) for r in (*SOURCES, "alerts")]
    return [
        Grant(TOPIC, ingress_prefix(names.prefix, park_id), _WRITE, PREFIXED),
        *(Grant(TOPIC, t, _READ) for t in shared),
        Grant(GROUP, f"{user}.", _READ, PREFIXED),
    ]


def acls(user: str, grants: Iterable[Grant]) -> list[ACL]:
    principal = f"User:{user}"
    return [
        ACL(
            principal,
            "*",
            op,
            ACLPermissionType.ALLOW,
            ResourcePattern(g.resource, g.name, g.pattern),
        )
        for g in grants
        for op in g.operations
    ]


def _check(results: dict[str, str | None], what: str) -> None:
    failed = {user: err for user, err in results.items() if err}
    if failed:
        raise ParkLinkError(f"{what} failed: {failed}")


def upsert_user(client: KafkaAdminClient, user: str, password: str) -> None:
    """Create or replace the SCRAM-SHA-512 credential of `user`."""
    changes = [
        UserScramCredentialUpsertion(
            user, ScramMechanism.SCRAM_SHA_512, password, iterations=SCRAM_ITERATIONS
        )
    ]
    try:
        _check(client.alter_user_scram_credentials(changes), f"setting the credential of {user}")
    except KafkaError as exc:
        raise ParkLinkError(f"setting the Kafka credential of {user} failed: {exc}") from exc


def grant(client: KafkaAdminClient, user: str, grants: Iterable[Grant]) -> int:
    """Create the ACLs (idempotent: Kafka keeps one copy of an ACL); returns how many."""
    wanted = acls(user, grants)
    try:
        result = client.create_acls(wanted)
    except KafkaError as exc:
        raise ParkLinkError(f"creating the ACLs of {user} failed: {exc}") from exc
    failed = result.get("failed", []) if isinstance(result, dict) else []
    if failed:
        raise ParkLinkError(f"creating the ACLs of {user} failed: {failed}")
    return len(wanted)


def remove_user(client: KafkaAdminClient, user: str) -> int:
    """Delete the credential of `user` and every ACL that names it; returns ACLs deleted."""
    any_resource = ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)
    every = ACLFilter(f"User:{user}", None, Op.ANY, ACLPermissionType.ANY, any_resource)
    deleted = 0
    try:
        for _filter, matched, error in client.delete_acls([every]):
            if error is not None and getattr(error, "errno", None):
                raise ParkLinkError(f"deleting the ACLs of {user} failed: {error}")
            deleted += len(matched)
        existing = client.describe_user_scram_credentials([user]).get(user, {})
        mechanisms = [c["mechanism"] for c in existing.get("credential_infos", [])]
        if mechanisms:
            removals = [UserScramCredentialDeletion(user, m) for m in mechanisms]
            _check(client.alter_user_scram_credentials(removals), f"deleting {user}")
    except KafkaError as exc:
        raise ParkLinkError(f"removing the Kafka user {user} failed: {exc}") from exc
    return deleted


def admit_park(
    client: KafkaAdminClient, catalog: Catalog, names: Names, park_id: str, password: str
) -> list[str]:
    """Create park `park_id`'s ingress topics, SCRAM credential and ACLs (idempotent: admitting
    again replaces the password); returns its ingress topics."""
    user = park_principal(park_id)
    try:
        brokers = bus.live_brokers(client)
        existing = set(client.list_topics())
        new = []
        topics = []
        for role in SOURCES:
            spec = catalog[role]
            topic = ingress_topic(catalog, names.prefix, park_id, role)
            topics.append(topic)
            if topic not in existing:
                rf = min(spec.replication_factor, brokers)
                new.append(NewTopic(topic, spec.partitions, rf, topic_configs=spec.configs(rf)))
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):
                client.create_topics(new)
    except KafkaError as exc:
        raise ParkLinkError(f"creating the ingress topics of {park_id} failed: {exc}") from exc
    upsert_user(client, user, password)
    grant(client, user, park_grants(park_id, catalog, names))
    return topics


def expel_park(client: KafkaAdminClient, park_id: str) -> int:
    """Delete park `park_id`'s credential and every ACL of it (its ingress topics stay until
    the relay has passed on what is in them); returns ACLs deleted."""
    return remove_user(client, park_principal(park_id))
