"""Make the cluster's topics match the catalog, idempotently, refusing what Kafka cannot do."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import KafkaError, UnknownBrokerIdError

from parklink.eventkit.bus import KafkaUnavailable, admin, live_brokers
from parklink.eventkit.catalog import Catalog, TopicSpec
from parklink.eventkit.errors import ParkLinkError

log = logging.getLogger(__name__)


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    grown: list[str] = field(default_factory=list)
    reconfigured: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.grown or self.reconfigured)


RETRY_PAUSE_S = 2.0

TRANSIENT = (UnknownBrokerIdError,)
"""Errors of a cluster that is changing, beside those kafka-python marks retriable: a node that
has just restarted is in the metadata before its connection is back."""


def apply_catalog(
    catalog: Catalog,
    bootstrap: list[str],
    prefix: str,
    only: list[str] | None = None,
    brokers: int | None = None,
    wait_s: float = 0.0,
) -> ApplyReport:
    """Create missing topics, add partitions and set configs where the catalog asks for more.

    With `brokers`, first wait up to `wait_s` seconds until the cluster shows that many
    brokers. A single-broker cluster (a developer's machine) gets the catalog's topics with
    replication lowered to 1 and a note; on a cluster of two or more brokers replication is
    never lowered: a topic created under-replicated there would stay so for good.

    Within `wait_s`, an error of a cluster in motion (a node restarting while the apply runs,
    see `TRANSIENT`) starts the apply again from the cluster's new state, with a new client:
    every step is idempotent, and the report keeps what the earlier tries changed.

    Raises ParkLinkError, before changing anything, for what Kafka cannot do or must not be
    done: fewer partitions than the topic has, a different replication factor, replication
    above the brokers of a cluster, or fewer brokers than `brokers` when the wait ends."""
    report = ApplyReport()
    deadline = time.monotonic() + wait_s
    tries = 0
    while True:
        tries += 1
        try:
            client = admin(bootstrap)
        except KafkaUnavailable as exc:  # no node answers yet (a cluster still starting)
            if time.monotonic() >= deadline:
                raise
            _pause(exc, tries)
            continue
        try:
            _apply(client, catalog, prefix, only, brokers or 0, deadline, report)
            return report
        except KafkaError as exc:
            if not (exc.retriable or isinstance(exc, TRANSIENT)) or time.monotonic() >= deadline:
                raise KafkaUnavailable(f"topic admin failed: {exc}") from exc
            _pause(exc, tries)
        finally:
            client.close()


def _pause(problem: Exception, tries: int) -> None:
    log.warning("topic admin: %s (try %d); trying again in %.0f s", problem, tries, RETRY_PAUSE_S)
    time.sleep(RETRY_PAUSE_S)


def _apply(
    client: KafkaAdminClient,
    catalog: Catalog,
    prefix: str,
    only: list[str] | None,
    wanted: int,
    deadline: float,
    report: ApplyReport,
) -> None:
    seen = _await_brokers(client, wanted, deadline)
    specs = [s for s in catalog.topics.values() if only is None or s.role in only]
    existing = {t["name"]: t for t in client.describe_topics() if not t.get("error_code")}
    plans: list[tuple[TopicSpec, int]] = []
    lowered = [s.topic(prefix) for s in specs if s.replication_factor > seen]
    if lowered and seen > 1:
        raise ParkLinkError(
            f"the cluster shows {seen} brokers and the catalog asks for replication up to "
            f"{max(s.replication_factor for s in specs)} ({', '.join(lowered)}): not "
            "lowered on a cluster; start the missing brokers, or let `topics apply "
            "--brokers N` wait for them"
        )
    if lowered and not report.notes:
        report.notes.append(
            f"the cluster has {seen} broker(s): replication factor lowered to {seen} "
            f"for {', '.join(lowered)}"
        )
    for spec in specs:
        rf = min(spec.replication_factor, seen)
        current = existing.get(spec.topic(prefix))
        if current is not None:
            have = len(current["partitions"])
            have_rf = len(current["partitions"][0]["replica_nodes"])
            if spec.partitions < have:
                raise ParkLinkError(
                    f"{spec.topic(prefix)} has {have} partitions and the catalog asks for "
                    f"{spec.partitions}: Kafka cannot remove partitions"
                )
            if have_rf != rf:
                raise ParkLinkError(
                    f"{spec.topic(prefix)} has replication factor {have_rf}, the catalog "
                    f"gives {rf}: changing it needs a partition reassignment, not `apply`"
                )
        plans.append((spec, rf))
    for spec, rf in plans:
        _apply_one(client, spec, rf, prefix, existing, report)


def _await_brokers(client: object, wanted: int, deadline: float) -> int:
    """The cluster's broker count once it is at least `wanted` (at once when 0); raises
    ParkLinkError when the `deadline` (monotonic time) passes first."""
    waited_from = time.monotonic()
    while True:
        try:
            seen = live_brokers(client)
        except KafkaError as exc:  # a node that just went away is still in the metadata
            if not exc.retriable or time.monotonic() >= deadline:
                raise
            seen = -1
        if seen >= wanted:
            return seen
        if time.monotonic() >= deadline:
            raise ParkLinkError(
                f"the cluster shows {seen} of the {wanted} brokers expected after "
                f"{time.monotonic() - waited_from:.0f} s"
            )
        log.info("waiting for the cluster: %d of %d brokers", seen, wanted)
        time.sleep(2.0)


def _apply_one(
    client: object,
    spec: TopicSpec,
    rf: int,
    prefix: str,
    existing: dict[str, dict[str, object]],
    report: ApplyReport,
) -> None:
    name = spec.topic(prefix)
    wanted = spec.configs(rf)
    current = existing.get(name)
    if current is None:
        client.create_topics(  # type: ignore[attr-defined]
            {name: {"num_partitions": spec.partitions, "replication_factor": rf, "configs": wanted}}
        )
        report.created.append(name)
        return
    if name in report.created:  # an earlier try created it; this one found it there
        return
    partitions = current["partitions"]
    if isinstance(partitions, list) and spec.partitions > len(partitions):
        client.create_partitions({name: spec.partitions})  # type: ignore[attr-defined]
        report.grown.append(name)
    resource = ConfigResource(ConfigResourceType.TOPIC, name, configs=dict.fromkeys(wanted))
    result = client.describe_configs([resource], config_filter="all")  # type: ignore[attr-defined]
    have = _config_values(result)
    diff = {k: v for k, v in wanted.items() if have.get(k) != v}
    if diff:
        client.alter_configs(  # type: ignore[attr-defined]
            [ConfigResource(ConfigResourceType.TOPIC, name, configs=diff)], incremental=True
        )
        report.reconfigured.append(f"{name} ({', '.join(f'{k}={v}' for k, v in diff.items())})")
    elif not _reported(report, name):
        report.unchanged.append(name)


def _reported(report: ApplyReport, name: str) -> bool:
    """Whether an earlier try (or this one) already changed topic `name`."""
    return name in report.grown or any(r.startswith(f"{name} (") for r in report.reconfigured)


def _config_values(result: dict[str, dict[str, dict[str, dict[str, object]]]]) -> dict[str, str]:
    """Flatten kafka-python's describe_configs answer to {config name: value}."""
    values: dict[str, str] = {}
    for by_name in result.get("topic", {}).values():
        for key, entry in by_name.items():
            values[key] = str(entry.get("value"))
    return values
