"""The catalog on the 3-node cluster: replication 3 and min.insync.replicas 2 as it says, and
`topics apply` never lowering replication on a cluster that is short of a broker."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from conftest import run_parklink
from fault.conftest import NODES, Cluster, wait_until
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError

from parklink.eventkit.bus import admin, broker_count
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.topic_admin import apply_catalog

pytestmark = [pytest.mark.broker, pytest.mark.fault, pytest.mark.timeout(600)]


def _topics(cluster: Cluster, prefix: str) -> list[str]:
    return sorted(t for t in cluster.all_topics() if t.startswith(prefix))


def _all_topics(cluster: Cluster, prefix: str) -> list[str]:
    """The catalog's topics under `prefix`, once every one of them is in the metadata (a
    topic just created reaches each broker's metadata a moment later): the listing that had
    them all, not a later one, which another node still behind may answer."""
    wanted = len(load_catalog().topics)
    listed: list[list[str]] = []

    def complete() -> bool:
        listed.append(_topics(cluster, prefix))
        return len(listed[-1]) >= wanted

    wait_until(complete, f"{wanted} topics {prefix}*", 60)
    return listed[-1]


def _brokers(cluster: Cluster) -> int:
    """Brokers the cluster lists; -1 while the node asked is the one just stopped."""
    try:
        return broker_count(cluster.servers)
    except ParkLinkError:  # KafkaUnavailable
        return -1


def _described(cluster: Cluster, names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The metadata and the configs of the topics `names`, from a node that knows every one of
    them: a node that started a moment ago (the tier restarts nodes) applies the topics created
    since a little later, and answers UNKNOWN_TOPIC_OR_PARTITION for them until it has. What
    the node says of a topic's replicas or configs plays no part in the wait."""
    answer: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def known() -> bool:
        client = admin(cluster.servers)
        try:
            described = {t["name"]: t for t in client.describe_topics(names)}
            configs = client.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, n, configs=None) for n in names],
                config_filter="all",
            )
        except KafkaError:
            return False
        finally:
            client.close()
        topics = [described.get(n) for n in names]
        if any(t is None or t.get("error_code") or not t["partitions"] for t in topics):
            return False
        if any(n not in configs.get("topic", {}) for n in names):
            return False
        answer.append((described, configs))
        return True

    wait_until(known, f"a node that knows every one of {names}", 60)
    return answer[-1]


def test_catalog_topics_have_replication_3_and_min_isr_2(
    healthy_cluster: Cluster, fault_prefix: str, report: Callable[..., str]
) -> None:
    names = _all_topics(healthy_cluster, fault_prefix)
    described, configs = _described(healthy_cluster, names)
    replicas = {n: len(described[n]["partitions"][0]["replica_nodes"]) for n in names}
    min_isr = {n: configs["topic"][n]["min.insync.replicas"]["value"] for n in names}
    report(
        "catalog", topics=len(names), replicas=set(replicas.values()), min_isr=set(min_isr.values())
    )
    assert len(names) == len(load_catalog().topics)
    assert set(replicas.values()) == {NODES}, replicas
    assert set(min_isr.values()) == {"2"}, min_isr


def test_topics_apply_refuses_to_lower_replication_on_a_short_cluster(
    healthy_cluster: Cluster, report: Callable[..., str]
) -> None:
    cluster = healthy_cluster
    prefix = f"r{uuid.uuid4().hex[:10]}."
    env = {"PARKLINK_KAFKA_BOOTSTRAP": cluster.bootstrap, "PARKLINK_TOPIC_PREFIX": prefix}
    cluster.kill(NODES - 1)
    wait_until(lambda: _brokers(cluster) == NODES - 1, "the cluster to drop the stopped node", 90)

    with pytest.raises(ParkLinkError, match="not lowered on a cluster"):
        apply_catalog(load_catalog(), cluster.servers, prefix)
    waited = run_parklink(env, "topics", "apply", "--brokers", str(NODES), "--wait", "3")
    created_short = _topics(cluster, prefix)

    # The node starts again while `topics apply --wait` waits for the cluster to show it (what
    # a deploy job started with the cluster does): a node that comes back during the apply
    # must not fail it. Then every node up and every partition whole, as the tier expects.
    cluster.start(NODES - 1)
    done = run_parklink(env, "topics", "apply", "--brokers", str(NODES), "--wait", "120")
    cluster.heal()
    created = _all_topics(cluster, prefix) if done.returncode == 0 else _topics(cluster, prefix)
    report(
        "topics-apply",
        short_cluster_exit=waited.returncode,
        short_cluster_created=len(created_short),
        whole_cluster_exit=done.returncode,
        whole_cluster_created=len(created),
    )
    assert waited.returncode != 0
    assert f"shows {NODES - 1} of the {NODES} brokers" in waited.stderr, waited.stderr
    assert created_short == []
    assert done.returncode == 0, done.stderr
    assert "note:" not in done.stdout
    assert len(created) == len(load_catalog().topics)
    client = admin(cluster.servers)
    try:
        client.delete_topics(created)
    finally:
        client.close()
