"""`apply_catalog` on a cluster in motion: which errors start the apply again and which end
it. The admin client is a fake that answers like kafka-python's; the real cluster cases (a
node that restarts while `topics apply --wait` waits) are in tests/fault/test_cluster.py."""

from __future__ import annotations

from typing import Any

import pytest
from kafka.errors import KafkaError, TopicAuthorizationFailedError, UnknownBrokerIdError

from parklink.eventkit import topic_admin
from parklink.eventkit.bus import KafkaUnavailable
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError


class FakeAdmin:
    """One admin client of a cluster of `brokers` nodes that holds `topics`; `fail`, if
    given, is raised by the client's second create_topics (after one topic is made)."""

    def __init__(self, topics: dict[str, dict[str, Any]], brokers: int, fail: Any) -> None:
        self.topics = topics
        self.brokers = brokers
        self.fail = fail
        self.closed = False
        self.creates = 0

    def describe_cluster(self) -> dict[str, Any]:
        return {"brokers": [{"node_id": n} for n in range(self.brokers)]}

    def describe_topics(self) -> list[dict[str, Any]]:
        return list(self.topics.values())

    def create_topics(self, new: dict[str, dict[str, Any]]) -> None:
        self.creates += 1
        if self.fail is not None and self.creates == 2:
            raise self.fail
        for name, spec in new.items():
            replicas = [{"replica_nodes": list(range(spec["replication_factor"]))}]
            self.topics[name] = {"name": name, "partitions": replicas * spec["num_partitions"]}

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def cluster(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The fake cluster: its topics, its size, the errors its next clients raise (one per
    client, in order), and the clients made."""
    state: dict[str, Any] = {"topics": {}, "brokers": 3, "failures": [], "clients": []}

    def admin(bootstrap: list[str]) -> FakeAdmin:
        fail = state["failures"].pop(0) if state["failures"] else None
        if isinstance(fail, KafkaUnavailable):
            raise fail
        client = FakeAdmin(state["topics"], state["brokers"], fail)
        state["clients"].append(client)
        return client

    monkeypatch.setattr(topic_admin, "admin", admin)
    monkeypatch.setattr(topic_admin, "RETRY_PAUSE_S", 0.0)
    return state


def test_a_node_that_restarts_during_the_apply_starts_it_again_and_the_report_is_whole(
    cluster: dict[str, Any],
) -> None:
    catalog = load_catalog()
    cluster["failures"] = [UnknownBrokerIdError("2")]
    report = topic_admin.apply_catalog(catalog, ["n:1"], "p.", brokers=3, wait_s=60)
    names = sorted(spec.topic("p.") for spec in catalog.topics.values())
    assert sorted(report.created) == names  # the first try's topic, once, and the others
    assert sorted(cluster["topics"]) == names
    assert report.unchanged == [] and report.notes == []
    assert len(cluster["clients"]) == 2
    assert all(client.closed for client in cluster["clients"])


def test_a_cluster_not_answering_yet_is_waited_for(cluster: dict[str, Any]) -> None:
    cluster["failures"] = [KafkaUnavailable("cannot reach Kafka"), KafkaUnavailable("again")]
    report = topic_admin.apply_catalog(load_catalog(), ["n:1"], "p.", wait_s=60)
    assert len(report.created) == len(load_catalog().topics)


def test_without_a_wait_a_transient_error_ends_the_apply(cluster: dict[str, Any]) -> None:
    cluster["failures"] = [UnknownBrokerIdError("2")]
    with pytest.raises(KafkaUnavailable, match=r"topic admin failed: .*UnknownBrokerIdError"):
        topic_admin.apply_catalog(load_catalog(), ["n:1"], "p.")
    assert len(cluster["clients"]) == 1 and cluster["clients"][0].closed


@pytest.mark.parametrize("error", [TopicAuthorizationFailedError("p.orders")])
def test_an_error_that_a_retry_cannot_mend_ends_the_apply_at_once(
    cluster: dict[str, Any], error: KafkaError
) -> None:
    cluster["failures"] = [error]
    with pytest.raises(KafkaUnavailable, match="TopicAuthorizationFailedError"):
        topic_admin.apply_catalog(load_catalog(), ["n:1"], "p.", wait_s=60)
    assert len(cluster["clients"]) == 1


def test_a_refusal_is_never_tried_again(cluster: dict[str, Any]) -> None:
    cluster["brokers"] = 2
    with pytest.raises(ParkLinkError, match="not lowered on a cluster"):
        topic_admin.apply_catalog(load_catalog(), ["n:1"], "p.", wait_s=60)
    assert len(cluster["clients"]) == 1
    assert cluster["topics"] == {}
