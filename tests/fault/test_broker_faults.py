"""Broker faults under a publisher that sends through the gateway: the partition leader
SIGKILLed mid-stream, and the ISR shrunk below min.insync.replicas. Acknowledged means on the
topic exactly once; refused means 503, never a false 202."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from fault.conftest import (
    NODES,
    Cluster,
    Publisher,
    ShipmentScript,
    post_batch,
    settle_alerts,
    shipments_on_topic,
    start_gateway,
    tally,
    wait_until,
)
from integration.detector.conftest import Network

# The first test also waits for the cluster to start; each one restarts nodes or services.
pytestmark = [pytest.mark.broker, pytest.mark.fault, pytest.mark.timeout(600)]


def test_leader_sigkill_while_publishing_loses_and_repeats_nothing_acknowledged(
    healthy_cluster: Cluster,
    network: Network,
    fault_registry: str,
    tmp_path: Path,
    report: Callable[..., str],
) -> None:
    cluster = healthy_cluster
    topic = network.topic("shipments")
    with ThreadPoolExecutor(1) as pool:
        detector = pool.submit(network.start)
        # Long enough for acks to outlive the leader's failover (the dead node is fenced after
        # the broker session timeout), so that retries to the new leader are exercised.
        gw = start_gateway(
            cluster,
            fault_registry,
            network.prefix,
            tmp_path,
            PARKLINK_GATEWAY_PRODUCE_TIMEOUT_S="30",
        )
        try:
            detector.result(timeout=180)
        except BaseException:
            gw.stop()
            raise
    publisher = Publisher(
        gw, ShipmentScript("L", 60, seed=1), batch_size=10, threads=2, pause_s=0.1
    )
    phases: dict[str, float] = {}
    try:
        publisher.start()
        wait_until(lambda: publisher.accepted() >= 10, "10 acknowledged batches before the kill")
        leaders = Counter(cluster.leaders(topic).values())
        victim = leaders.most_common(1)[0][0]
        clock = time.monotonic()
        cluster.kill(victim)
        before = len(publisher.outcomes)
        wait_until(
            lambda: len(publisher.outcomes) >= before + 6, "6 more requests with the leader dead"
        )
        phases["dead_s"] = round(time.monotonic() - clock, 1)
        clock = time.monotonic()
        cluster.start(victim)
        cluster.heal([topic])
        phases["heal_s"] = round(time.monotonic() - clock, 1)
        after = publisher.accepted()
        wait_until(lambda: publisher.accepted() >= after + 5, "5 batches acknowledged after")
    finally:
        outcomes = publisher.stop()
        gw.stop()

    counts = tally(outcomes, shipments_on_topic(network))
    statuses = Counter(str(o.status) for o in outcomes)
    clock = time.monotonic()
    alerts = settle_alerts(network, "leader-sigkill")
    phases["settle_s"] = round(time.monotonic() - clock, 1)
    line = report(
        "leader-sigkill",
        killed_node=victim,
        requests=len(outcomes),
        statuses=dict(statuses),
        **counts.figures(),
        **alerts,
        **phases,
    )
    assert counts.lost == 0 and counts.duplicated == 0, line
    assert counts.found == counts.acknowledged, line
    assert set(statuses) <= {"202", "503"}, line


def test_isr_below_min_insync_gives_503_then_202_once_it_recovers(
    healthy_cluster: Cluster,
    network: Network,
    fault_registry: str,
    tmp_path: Path,
    report: Callable[..., str],
) -> None:
    """Two of the three nodes SIGKILLed: each partition has at most one live replica, fewer
    than min.insync.replicas 2, so acks=all cannot be met and nothing may be acknowledged.
    (The three nodes are the KRaft voters too, so the quorum is lost as well; while the nodes
    come back the leaders answer NOT_ENOUGH_REPLICAS until the ISR grows again.)"""
    cluster = healthy_cluster
    gw = start_gateway(
        cluster, fault_registry, network.prefix, tmp_path, PARKLINK_GATEWAY_PRODUCE_TIMEOUT_S="5"
    )
    script = ShipmentScript("I", 30, seed=2)
    outcomes = []
    during: list[int | str] = []
    try:
        with httpx.Client(timeout=httpx.Timeout(60.0, connect=5.0)) as client:
            first = post_batch(client, gw, script.batch(20))
            outcomes.append(first)
            assert first.status == 202, first.error
            survivor = 0
            clock = time.monotonic()
            for node_id in range(1, NODES):
                cluster.kill(node_id)
            for _ in range(4):
                outcome = post_batch(client, gw, script.batch(20))
                outcomes.append(outcome)
                during.append(outcome.status or outcome.error)
            phases = {"outage_s": round(time.monotonic() - clock, 1)}
            clock = time.monotonic()
            for node_id in range(1, NODES):
                cluster.start(node_id)
            cluster.heal([network.topic("shipments")])
            phases["heal_s"] = round(time.monotonic() - clock, 1)
            clock = time.monotonic()
            recovered: list[int | str] = []
            # Generous: after the quorum was lost the metadata may show a full ISR while the
            # followers still catch up, and the leaders answer NOT_ENOUGH_REPLICAS until then.
            deadline = time.monotonic() + 240
            while recovered[-1:] != [202] and time.monotonic() < deadline:
                outcome = post_batch(client, gw, script.batch(20))
                outcomes.append(outcome)
                recovered.append(outcome.status or outcome.error)
            phases["recover_s"] = round(time.monotonic() - clock, 1)
            for _ in range(2):
                outcomes.append(post_batch(client, gw, script.batch(20)))
    finally:
        gw.stop()

    counts = tally(outcomes, shipments_on_topic(network))
    line = report(
        "isr-below-min",
        survivor=survivor,
        during_outage=during,
        until_recovered=recovered,
        after=[o.status for o in outcomes[-2:]],
        **counts.figures(),
        **phases,
    )
    assert during == [503] * len(during), line
    assert recovered and recovered[-1] == 202, line
    assert set(recovered[:-1]) <= {503}, line
    assert [o.status for o in outcomes[-2:]] == [202, 202], line
    assert counts.lost == 0 and counts.duplicated == 0, line
