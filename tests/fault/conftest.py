"""The fault tier: one local 3-node KRaft cluster shared by the whole tier (the topic catalog's
replication 3 and min.insync.replicas 2), a schema registry on it, and what the tests need to
break it on purpose: kill and restart nodes, run gateways and detector workers, send batches
through the gateway, read back what is on the topics, compute the expected alerts, and report
each test's figures in the log.

Every test leaves the cluster as it found it: the `healthy_cluster` fixture brings any stopped
node back and waits for every partition to have its full ISR before and after each test."""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from random import Random
from typing import Any

import httpx
import pytest
from conftest import (
    FIGURES_PROPERTY,
    broker_unavailable,
    delete_prefixed,
    start_service,
    stop_service,
)
from integration.detector.conftest import Network
from integration.gateway.conftest import gateway_env, issue_park_token
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from parklink.eventkit.bus import admin
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert, ShipmentEvent
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lag import GroupLag
from parklink.eventkit.lifecycle import free_port, free_port_pair, log_tail, pid_alive, port_open
from parklink.eventkit.serde import Deserializer
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import ADMIN, LocalKafka

NODES = 3
PARK = "KZ-ALA-IPA"  # the publishing park: destination of every shipment it reports
ORIGIN = "CN-QD-SCODA"
CORRIDORS = ("QD-KHR-ALA-RAIL", "QD-ALA-ROAD", "TAS-ALA-RAIL")
# ETA minus planned arrival, in hours: on time, late but not alerting, WARNING, CRITICAL.
DELAYS_H = (0.0, 10.0, 30.0, 50.0, 80.0, 120.0)
DELAY_WARNING_H = 24.0
DELAY_CRITICAL_H = 72.0


# -- waiting --------------------------------------------------------------------------------


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 120.0) -> None:
    """Poll `check` until it holds; AssertionError naming `what` when the deadline passes."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
        time.sleep(0.3)


# -- figures in the log ---------------------------------------------------------------------


def figures_line(test: str, **figures: object) -> str:
    return f"[fault] {test}: " + ", ".join(f"{k}={v}" for k, v in figures.items())


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Callable[..., str]:
    """`report(test, **figures)`: print one line of a test's figures (shown with -s) and keep
    it on the test's report for the terminal summary (`tests/conftest.py` shows the lines
    under "fault tier figures", from every xdist worker); returns the line for assertion
    messages."""

    def emit(test: str, **figures: object) -> str:
        line = figures_line(test, **figures)
        print(line, flush=True)
        request.node.user_properties.append((FIGURES_PROPERTY, line))
        return line

    return emit


# -- the cluster ----------------------------------------------------------------------------


@dataclass
class Cluster:
    kafka: LocalKafka
    bootstrap: str

    @property
    def login(self) -> dict[str, str]:
        """How the tier's clients and services log in: as this cluster's admin (not as the
        session broker's, which os.environ holds), registering schemas as the writer."""
        return {**self.kafka.login_env(ADMIN), "PARKLINK_REGISTRY_USER": "writer"}

    @property
    def servers(self) -> list[str]:
        return self.bootstrap.split(",")

    def pid(self, node_id: int) -> int | None:
        return self.kafka.status()[node_id].pid

    def kill(self, node_id: int, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal node `node_id`'s process group and wait until the process is gone."""
        pid = self.pid(node_id)
        if pid is None:
            raise AssertionError(f"Kafka node {node_id} is not running")
        os.killpg(pid, sig)
        wait_until(lambda: not pid_alive(pid), f"Kafka node {node_id} (pid {pid}) to exit", 60)

    def start(self, node_id: int) -> None:
        """Start a stopped node again on its data (what an operator's restart does)."""
        node = self.kafka.nodes()[node_id]
        if self.pid(node_id) is None:
            # LocalKafka starts whole clusters; restarting one node uses its node starter.
            self.kafka._start(node)

    def admin(self) -> KafkaAdminClient:
        """An admin client that gives up within 5 s, its first connection too (kafka-python
        would wait 30 s for it while nodes restart)."""
        return admin(self.servers, request_timeout_ms=5000, bootstrap_timeout_ms=5000)

    def describe(self, topics: Sequence[str]) -> list[dict[str, Any]]:
        client = self.admin()
        try:
            return list(client.describe_topics(list(topics)))
        finally:
            client.close()

    def leaders(self, topic: str) -> dict[int, int]:
        """Partition -> node id of its leader (-1 while it has none)."""
        (meta,) = self.describe([topic])
        return {p["partition_index"]: p["leader_id"] for p in meta["partitions"]}

    def under_replicated(self, topics: Sequence[str]) -> list[str]:
        """`topic[partition]` of each partition without a leader or with fewer in-sync replicas
        than replicas; empty when every partition is whole."""
        out = []
        for meta in self.describe(topics):
            if meta.get("error_code"):
                out.append(f"{meta['name']} (error {meta['error_code']})")
                continue
            for p in meta["partitions"]:
                if p["leader_id"] < 0 or len(p["isr_nodes"]) < len(p["replica_nodes"]):
                    out.append(f"{meta['name']}[{p['partition_index']}]")
        return out

    def heal(self, topics: Sequence[str] = ()) -> None:
        """Every node running and, for `topics` (all topics when empty), every partition with
        a leader and its full ISR."""
        for node_id in range(NODES):
            self.start(node_id)
        names = list(topics)
        last: list[str] = []

        def whole() -> bool:
            nonlocal last
            # A node still starting is not asked: no admin client (a TLS and SCRAM login to
            # every node) every 0.3 s while its JVM starts, on the cores it starts on. Until
            # its client port is open the metadata can also be stale (after a lost quorum it
            # still shows the dead nodes in every ISR).
            starting = [
                n.node_id
                for n in self.kafka.nodes()
                if self.pid(n.node_id) is None or not port_open(n.broker_port)
            ]
            if starting:
                last = [f"node {n} not listening yet" for n in starting]
                return False
            try:
                wanted = names or self.all_topics()
                last = self.under_replicated(wanted)
            except (ParkLinkError, KafkaError) as exc:  # nodes still starting
                last = [f"cluster not answering: {exc}"]
            return not last

        try:
            wait_until(whole, "every node up and every partition with its full ISR", 180)
        except AssertionError as exc:
            tails = "\n".join(
                f"node {s.node.node_id}:\n{log_tail(s.node.log_file, 10)}"
                for s in self.kafka.status()
            )
            raise AssertionError(f"{exc}; still short: {last[:10]}\n{tails}") from None

    def all_topics(self) -> list[str]:
        client = self.admin()
        try:
            return [t for t in client.list_topics() if not t.startswith("__")]
        finally:
            client.close()


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # tests/fault is no Python package, so this lives as long as the session: it never
    # touches os.environ (each test logs in through _cluster_login).
    base = free_port_pair()
    while any(port_open(p) for p in range(base, base + 2 * NODES)):
        base = free_port_pair()
    state = tmp_path_factory.mktemp("fault-kafka")
    kafka = LocalKafka(KafkaLocalSettings(state_dir=state, kafka_base_port=base, kafka_heap_mb=384))
    try:
        bootstrap = kafka.up(NODES)
    except ParkLinkError as exc:
        broker_unavailable(str(exc))
    try:
        yield Cluster(kafka, bootstrap)
    finally:
        kafka.down(wipe=True, timeout_s=20)
    still = [p for p in range(base, base + 2 * NODES) if port_open(p)]
    assert not still, f"Kafka ports still open after the tier: {still}"


@pytest.fixture(autouse=True)
def _cluster_login(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fault test (its clients, and the services it starts, which inherit os.environ)
    logs in to the tier's cluster; monkeypatch puts the session's login back after the
    test. Never set for longer: the cluster fixture lives as long as the session."""
    for key, value in cluster.login.items():
        monkeypatch.setenv(key, value)


@pytest.fixture(scope="package")
def fault_registry(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """ParkLink's registry on the 3-node cluster (its `_schemas` topic replicated 3 times)."""
    port = free_port()
    logs = tmp_path_factory.mktemp("fault-registry")
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": cluster.bootstrap,
        "PARKLINK_REGISTRY_HOST": "127.0.0.1",
        "PARKLINK_REGISTRY_PORT": str(port),
        "PARKLINK_REGISTRY_TOPIC": f"_schemas.{uuid.uuid4().hex[:8]}",
        "PARKLINK_STATE_DIR": str(logs),
        **cluster.login,
    }
    url = f"http://127.0.0.1:{port}"
    proc = start_service("parklink.registry", env, logs / "registry.log", f"{url}/readyz")
    try:
        yield url
    finally:
        stop_service(proc)


@pytest.fixture
def healthy_cluster(cluster: Cluster) -> Iterator[Cluster]:
    cluster.heal()
    yield cluster
    cluster.heal()


@pytest.fixture
def fault_prefix(healthy_cluster: Cluster) -> Iterator[str]:
    """The catalog's topics under a fresh prefix, with the catalog's replication and ISR."""
    prefix = f"f{uuid.uuid4().hex[:10]}."
    applied = apply_catalog(load_catalog(), healthy_cluster.servers, prefix)
    assert applied.notes == [], applied.notes  # nothing lowered: replication 3, min ISR 2
    yield prefix
    healthy_cluster.heal()
    delete_prefixed(healthy_cluster.servers, prefix)


@pytest.fixture
def network(
    healthy_cluster: Cluster, fault_prefix: str, fault_registry: str, tmp_path: Path
) -> Iterator[Network]:
    """Detector workers, a direct publisher and a topic reader for one test's topics; the
    detector's own topics are replicated like the catalog's."""
    net = Network(healthy_cluster.bootstrap, fault_prefix, fault_registry, tmp_path)
    net.env["PARKLINK_DETECTOR_REPLICATION"] = str(NODES)
    net.env["PARKLINK_DETECTOR_SESSION_TIMEOUT_SECONDS"] = "6"
    try:
        yield net
    finally:
        net.close()


# -- gateways -------------------------------------------------------------------------------


@dataclass
class Gateway:
    proc: Any
    url: str
    token: str
    log: Path

    def stop(self) -> None:
        stop_service(self.proc)


def start_gateway(
    cluster: Cluster, registry_url: str, prefix: str, tmp: Path, **env: str
) -> Gateway:
    state = tmp / f"gateway-{uuid.uuid4().hex[:6]}"
    state.mkdir()
    token = issue_park_token(state, PARK)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    full = gateway_env(cluster.bootstrap, registry_url, prefix, state, port, **env)
    log = state / "gateway.log"
    proc = start_service("parklink.gateway", full, log, f"{url}/readyz")
    return Gateway(proc, url, token, log)


# -- what the publisher sends ---------------------------------------------------------------


class ShipmentScript:
    """Fresh shipment events of a fixed set of shipments: each event later (by event_time) than
    every earlier one, with an ETA drawn from DELAYS_H. Thread-safe."""

    def __init__(self, tag: str, shipments: int, seed: int) -> None:
        self.ids = [f"SH-{tag}-{n}" for n in range(shipments)]
        self._rng = Random(seed)
        self._lock = threading.Lock()
        self._t = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
        self._planned = self._t + timedelta(days=5)

    def events(self, n: int) -> list[ShipmentEvent]:
        out = []
        with self._lock:
            for _ in range(n):
                self._t += timedelta(milliseconds=10)
                sid = self._rng.choice(self.ids)
                delay = self._rng.choice(DELAYS_H)
                out.append(
                    ShipmentEvent.model_validate(
                        {
                            "event_id": str(uuid.uuid4()),
                            "event_time": self._t.isoformat(),
                            "source_park": PARK,
                            "shipment_id": sid,
                            "order_ids": [f"PO-{sid}"],
                            "status": "IN_TRANSIT",
                            "mode": "RAIL",
                            "origin_park": ORIGIN,
                            "destination_park": PARK,
                            "corridor": CORRIDORS[self.ids.index(sid) % len(CORRIDORS)],
                            "planned_arrival": self._planned.isoformat(),
                            "estimated_arrival": (
                                self._planned + timedelta(hours=delay)
                            ).isoformat(),
                        }
                    )
                )
        return out

    def batch(self, n: int) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.events(n)]


@dataclass
class Outcome:
    """One request to the gateway: its status (None for a broken connection) and events."""

    event_ids: list[str]
    status: int | None
    error: str = ""
    started: float = 0.0
    ended: float = 0.0


def post_batch(client: httpx.Client, gw: Gateway, batch: list[dict[str, Any]]) -> Outcome:
    ids = [e["event_id"] for e in batch]
    started = time.monotonic()
    try:
        resp = client.post(
            f"{gw.url}/v1/events/shipments",
            json=batch,
            headers={"Authorization": f"Bearer {gw.token}"},
        )
    except httpx.HTTPError as exc:
        return Outcome(ids, None, type(exc).__name__, started, time.monotonic())
    outcome = Outcome(ids, resp.status_code, "", started, time.monotonic())
    if resp.status_code == 202:
        assert resp.json()["event_ids"] == ids, resp.text[:500]
    else:
        outcome.error = resp.text[:300]
    return outcome


@dataclass
class Publisher:
    """Threads that post fresh batches to the gateway until stopped (or, with
    `stop_on_broken`, until the gateway is gone), never resending a failed batch."""

    gw: Gateway
    script: ShipmentScript
    batch_size: int
    threads: int = 1
    pause_s: float = 0.0
    stop_on_broken: bool = False
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _workers: list[threading.Thread] = field(default_factory=list)
    _errors: list[BaseException] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _posting: int = 0

    def _run(self) -> None:
        try:
            with httpx.Client(timeout=httpx.Timeout(90.0, connect=5.0)) as client:
                while not self._stop.is_set():
                    batch = self.script.batch(self.batch_size)
                    with self._lock:
                        self._posting += 1
                    try:
                        outcome = post_batch(client, self.gw, batch)
                    finally:
                        with self._lock:
                            self._posting -= 1
                    self.outcomes.append(outcome)
                    if outcome.status is None and self.stop_on_broken:
                        return
                    # Paced, and never spinning on a refusing gateway.
                    time.sleep(self.pause_s if outcome.status == 202 else max(self.pause_s, 0.2))
        except BaseException as exc:  # re-raised in the test's thread by stop()
            self._errors.append(exc)

    def start(self) -> Publisher:
        for n in range(self.threads):
            t = threading.Thread(target=self._run, name=f"publisher-{n}", daemon=True)
            t.start()
            self._workers.append(t)
        return self

    def accepted(self) -> int:
        return sum(1 for o in self.outcomes if o.status == 202)

    def posting(self) -> int:
        """Requests sent and not yet answered (a batch being built does not count)."""
        with self._lock:
            return self._posting

    def stop(self, timeout_s: float = 120.0) -> list[Outcome]:
        self._stop.set()
        for t in self._workers:
            t.join(timeout_s)
        alive = [t.name for t in self._workers if t.is_alive()]
        if alive:
            raise AssertionError(f"publisher threads still running after {timeout_s:.0f}s: {alive}")
        if self._errors:
            raise self._errors[0]
        return self.outcomes


# -- what landed ----------------------------------------------------------------------------


def shipments_on_topic(net: Network) -> list[ShipmentEvent]:
    """Every shipment event on the test's topic, in partition then offset order (each
    shipment lives in one partition, so this is the order a consumer sees its events in)."""
    des = Deserializer(net.registry, ShipmentEvent)
    records = sorted(net.read("shipments"), key=lambda r: (r.partition, r.offset))
    return [des.deserialize(r.value) for r in records]


@dataclass
class Tally:
    sent: int
    acknowledged: int
    found: int
    lost: int
    duplicated: int
    failed_requests: int
    failed_landed: int

    def figures(self) -> dict[str, int]:
        return dict(self.__dict__)


def tally(outcomes: Sequence[Outcome], landed: Sequence[ShipmentEvent]) -> Tally:
    """Acknowledged event ids against what is on the topic."""
    on_topic = Counter(e.event_id for e in landed)
    acked = [i for o in outcomes if o.status == 202 for i in o.event_ids]
    failed = [i for o in outcomes if o.status != 202 for i in o.event_ids]
    return Tally(
        sent=sum(len(o.event_ids) for o in outcomes),
        acknowledged=len(acked),
        found=sum(1 for i in acked if on_topic[i] >= 1),
        lost=sum(1 for i in acked if on_topic[i] == 0),
        duplicated=sum(1 for i in acked if on_topic[i] > 1),
        failed_requests=sum(1 for o in outcomes if o.status != 202),
        failed_landed=sum(1 for i in failed if on_topic[i] >= 1),
    )


# -- the alerts expected --------------------------------------------------------------------


def _delay_state(event: ShipmentEvent) -> str | None:
    if event.status in ("DELIVERED", "CANCELLED") or event.estimated_arrival is None:
        return None
    hours = (event.estimated_arrival - event.planned_arrival).total_seconds() / 3600
    if hours > DELAY_CRITICAL_H:
        return "FIRING/CRITICAL"
    if hours > DELAY_WARNING_H:
        return "FIRING/WARNING"
    return None


def expected_delay_alerts(events: Sequence[ShipmentEvent]) -> dict[str, str]:
    """The final SHIPMENT_DELAY state of each shipment, computed on its own from the rule
    (latest estimated arrival by event_time more than 24 h after the planned arrival; CRITICAL
    above 72 h), over `events` in the order a consumer reads them: a shipment that fired and
    is no longer late ends RESOLVED; one that never fired has no alert."""
    seen: set[str] = set()
    latest: dict[str, ShipmentEvent] = {}
    final: dict[str, str] = {}
    for event in events:
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        current = latest.get(event.shipment_id)
        if current is None or event.event_time > current.event_time:
            latest[event.shipment_id] = event
        state = _delay_state(latest[event.shipment_id])
        if state is not None:
            final[event.shipment_id] = state
        elif event.shipment_id in final:
            final[event.shipment_id] = "RESOLVED"
    return {f"SHIPMENT_DELAY|{sid}": state for sid, state in final.items()}


def delay_alerts_found(net: Network) -> dict[str, str]:
    """The latest state of each SHIPMENT_DELAY alert on the compacted alerts topic."""
    des = Deserializer(net.registry, DisruptionAlert)
    latest: dict[str, DisruptionAlert] = {}
    for record in sorted(net.read("alerts"), key=lambda r: (r.partition, r.offset)):
        if record.value is None:
            continue
        alert = des.deserialize(record.value)
        if alert.type == "SHIPMENT_DELAY":
            latest[alert.alert_id] = alert
    return {
        aid: "RESOLVED" if a.status.value == "RESOLVED" else f"FIRING/{a.severity.value}"
        for aid, a in latest.items()
    }


def alert_diff(expected: dict[str, str], found: dict[str, str]) -> list[str]:
    keys = sorted(set(expected) | set(found))
    return [
        f"{k}: expected {expected.get(k)}, found {found.get(k)}"
        for k in keys
        if expected.get(k) != found.get(k)
    ]


def detector_lag(net: Network) -> dict[str, int] | None:
    """Records the detector group has not committed yet, per topic: on the shipments topic and
    on every other topic it commits on (its own repartition topics); None if Kafka does not
    answer."""
    shipments = net.topic("shipments")
    own = f"{net.prefix}{net.group}-"  # its repartition topics; changelogs are not consumed

    def wanted(topic: str) -> bool:
        return topic == shipments or (topic.startswith(own) and not topic.endswith("-changelog"))

    try:
        lag = GroupLag(net.bootstrap.split(","), net.group, wanted)
        try:
            by_partition = lag.by_partition()
        finally:
            lag.close()
    except (ParkLinkError, KafkaError):
        return None
    out: dict[str, int] = {}
    for tp, n in by_partition.items():
        out[tp.topic] = out.get(tp.topic, 0) + n
    return out


def settle_alerts(net: Network, test: str, timeout_s: float = 120.0) -> dict[str, object]:
    """Wait until the detector has processed everything and its latest SHIPMENT_DELAY alerts
    equal the reference over the shipment events on the topic; the figures, or
    AssertionError with the differences."""
    expected: dict[str, str] = {}
    found: dict[str, str] = {}
    lag: dict[str, int] | None = None

    def settled() -> bool:
        nonlocal expected, found, lag
        lag = detector_lag(net)
        if lag is None or any(lag.values()):
            return False
        expected = expected_delay_alerts(shipments_on_topic(net))
        found = delay_alerts_found(net)
        return expected == found

    try:
        net.wait_for(
            settled, "the detector to catch up with alerts matching the reference", timeout_s
        )
    except AssertionError as exc:
        if not expected and not found:
            expected = expected_delay_alerts(shipments_on_topic(net))
            found = delay_alerts_found(net)
        diff = alert_diff(expected, found)
        line = figures_line(
            test,
            alerts_expected=len(expected),
            alerts_found=len(found),
            differing=len(diff),
            lag=lag,
        )
        raise AssertionError(f"{line}\n" + "\n".join(diff[:30]) + f"\n{exc}") from None
    firing = sum(1 for s in expected.values() if s.startswith("FIRING"))
    return {"alerts_expected": len(expected), "alerts_found": len(found), "firing": firing}
