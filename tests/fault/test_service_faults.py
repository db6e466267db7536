"""Service faults on the 3-node cluster: a detector worker SIGKILLed while its group
rebalances, and the gateway SIGTERMed with requests in flight."""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fault.conftest import (
    Cluster,
    Publisher,
    ShipmentScript,
    settle_alerts,
    shipments_on_topic,
    start_gateway,
    tally,
    wait_until,
)
from integration.detector.conftest import Network, Worker

from parklink.eventkit.lifecycle import port_open

# The first test also waits for the cluster to start; each one restarts nodes or services.
pytestmark = [pytest.mark.broker, pytest.mark.fault, pytest.mark.timeout(600)]


def _rebalancing(worker: Worker, client: httpx.Client) -> bool:
    """The worker says it is joining its group or restoring its tables (a rebalance)."""
    try:
        resp = client.get(f"{worker.url}/readyz")
    except httpx.HTTPError:
        return False
    return resp.status_code == 503 and "kafka" in resp.json().get("problems", {})


def test_sigkill_of_a_detector_during_a_rebalance_gives_the_same_alerts(
    network: Network, report: Callable[..., str]
) -> None:
    one = network.start()
    two = network.start()
    script = ShipmentScript("R", 40, seed=3)
    network.publish(*script.events(240))
    before = settle_alerts(network, "detector-rebalance-kill (before)")

    with ThreadPoolExecutor(1) as pool, httpx.Client(timeout=1.0) as client:
        third = pool.submit(network.start)  # joining makes the group rebalance
        deadline = time.monotonic() + 120
        seen: Worker | None = None
        while seen is None and not third.done() and time.monotonic() < deadline:
            seen = next((w for w in (one, two) if _rebalancing(w, client)), None)
            time.sleep(0.05)
        assert seen is not None, (
            "no rebalance observed on the two workers while the third joined "
            f"(third worker started: {third.done()})"
        )
        network.kill(two)  # mid-rebalance: it may hold partitions being handed over
        network.publish(*script.events(240))
        third.result(timeout=180)

    after = settle_alerts(network, "detector-rebalance-kill")
    line = report(
        "detector-rebalance-kill",
        events=len(shipments_on_topic(network)),
        rebalance_seen_on=f"worker-{network.workers.index(seen)}",
        killed="worker-1",
        before_kill=before,
        **after,
    )
    assert two.proc.returncode == -signal.SIGKILL, line


def test_sigterm_of_the_gateway_with_requests_in_flight_is_all_or_nothing_per_request(
    healthy_cluster: Cluster,
    network: Network,
    fault_registry: str,
    tmp_path: Path,
    report: Callable[..., str],
) -> None:
    gw = start_gateway(healthy_cluster, fault_registry, network.prefix, tmp_path)
    publisher = Publisher(
        gw, ShipmentScript("T", 50, seed=4), batch_size=300, threads=4, stop_on_broken=True
    )
    try:
        publisher.start()
        # The threads also spend time building their batches: the signal goes when requests
        # are on the wire, so that some are in flight whatever the machine's speed.
        wait_until(
            lambda: publisher.accepted() >= 8 and publisher.posting() >= 2,
            "8 acknowledged requests and 2 on the wire before SIGTERM",
        )
        sigterm_at = time.monotonic()
        gw.proc.send_signal(signal.SIGTERM)
        try:
            code = gw.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            code = None
        outcomes = publisher.stop()
    finally:
        publisher.stop()
        gw.stop()

    landed = Counter(e.event_id for e in shipments_on_topic(network))
    counts = tally(outcomes, shipments_on_topic(network))
    in_flight = [o for o in outcomes if o.started < sigterm_at < o.ended]
    bad = []
    for o in outcomes:
        on_topic = [landed[i] for i in o.event_ids]
        if o.status == 202 and on_topic != [1] * len(on_topic):
            bad.append(f"202 but {sum(1 for n in on_topic if n != 1)} events not there once")
        if o.status != 202 and any(on_topic):
            bad.append(f"{o.status or o.error} but {sum(1 for n in on_topic if n)} events landed")
    line = report(
        "gateway-sigterm",
        exit_code=code,
        requests=len(outcomes),
        in_flight_at_sigterm=len(in_flight),
        in_flight_ended=dict(Counter(str(o.status or o.error) for o in in_flight)),
        statuses=dict(Counter(str(o.status or o.error) for o in outcomes)),
        **counts.figures(),
    )
    assert code in (0, -signal.SIGTERM), f"{line}\n{gw.log.read_text()[-2000:]}"
    assert not port_open(urlsplit(gw.url).port or 0), line
    assert in_flight, f"no request was in flight at SIGTERM: {line}"
    assert bad == [], f"{line}\n" + "\n".join(bad[:20])
