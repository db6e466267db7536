"""ParkLink's detector against its peers on one shipments backlog (bench/peers/backlog.py):
100,000 ShipmentEvents (19,800 shipments, about 10 % late, repeats and late updates),
produced once with the project's serializer through ParkLink's registry. Then, one after
the other and each alone on the broker with a fresh consumer group:

- ParkLink's detector (one worker, `python -m parklink.detector`, as a black box);
- Quix Streams (bench/peers/quix_rules.py, RocksDB state, `group_by` corridor), in its own
  virtualenv under ~/.cache/parklink/bench-quix, made once;
- Kafka Streams (bench/peers/kstreams, one stream thread), a jar built once with Maven into
  ~/.cache/parklink/bench-kstreams;
- a plain consumer that only decodes the Avro values (bench/peers/raw_consume.py).

Each is timed from the first record it reads (ParkLink: the first time its events-in
counter is above zero, polled every 20 ms; the peers print the time) until its group has
no lag on the backlog topic and on its own repartition topics (offsets are committed every
second by all of them, which bounds the resolution). CPU is utime + stime of the process
tree from /proc over the same span. First alert is the broker's append time (LogAppendTime)
of the first alert record, minus the start. The final FIRING set each one leaves on its
alerts topic is compared with the plain reference model and with the others.

`PARKLINK_BENCH_PEERS=parklink,x2 python -m bench shipments` runs only the systems named
(any of parklink, quix, kstreams, raw and x2, the two ParkLink workers in one group).
Every process writes its output to its own log under the bench's work directory; a system
that fails gets a FAILED row whose note holds the tail of those logs (and the exit code of
each process that exited), and `PARKLINK_BENCH_KEEP_LOGS=<dir>` copies the logs there at the
end, so a failure can be looked into."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, NewTopic

from bench.harness import (
    BenchContext,
    GroupLag,
    Row,
    free_port,
    lib_version,
    spawn_command,
    start_registry,
    tree_cpu_seconds,
)
from bench.peers.backlog import EVENTS, SHIPMENTS, SPAN, Backlog, Fired, generate, reference
from parklink.eventkit import bus
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.contracts import DisruptionAlert, ShipmentEvent
from parklink.eventkit.lifecycle import log_tail, stop_group
from parklink.eventkit.registry_client import RegistryClient
from parklink.eventkit.serde import Deserializer, Serializer
from parklink.eventkit.topic_admin import apply_catalog

CATALOG = load_catalog()
PEERS_DIR = Path(__file__).parent / "peers"
CACHE = Path.home() / ".cache" / "parklink"
QUIX_VENV = CACHE / "bench-quix"
QUIX_REQUIREMENTS = ("quixstreams>=3.28,<3.29", "fastavro>=1.9,<2")
KSTREAMS_SOURCE = PEERS_DIR / "kstreams"
PEER_KAFKA_ENV = "PEER_KAFKA_CONFIG"  # bench/peers/*: librdkafka settings as JSON
KSTREAMS_CACHE = CACHE / "bench-kstreams"
START_TIMEOUT_S = 180.0
DRAIN_TIMEOUT_S = 900.0
SETTLE_S = 1.0
"""The alerts topic is read until its end has not moved for this long."""

HORIZON = SPAN + timedelta(days=2)
"""The detector's event-time horizon for this bench (the backlog starts an hour before
now - SPAN)."""
GOAL_CPU_US = 60.0
GOAL_FIRST_ALERT_S = 1.0

Decode = Callable[[bytes], tuple[str, str, str, str]]
"""An alert record's value -> (type, subject, severity, status)."""


@dataclass
class Peer:
    name: str
    argv: list[str]
    envs: list[dict[str, str]]
    """One environment per process to start (a group of workers: more than one)."""
    group: str
    internal: Callable[[str], bool]
    """Picks the peer's own repartition topics, which count in its lag."""
    alerts_topic: str | None
    decode: Decode | None
    started: Callable[[Path], float | None]
    """The wall-clock time it read its first record, once it is known."""
    version: str


@dataclass
class Outcome:
    peer: str
    seconds: float
    cpu_s: float
    first_alert_s: float | None
    fired: set[Fired] | None
    version: str

    @property
    def rate(self) -> float:
        return EVENTS / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / EVENTS * 1e6


@dataclass
class _Backlog:
    topic: str
    registry_url: str
    prefix: str
    expected: set[Fired]
    backlog: Backlog
    registry: RegistryClient
    records: list[tuple[bytes, bytes]]
    """(key, value) of each event as produced."""


def _first_record_line(log: Path) -> float | None:
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = re.search(r"^first-record (\d+)$", text, re.MULTILINE)
    return None if found is None else int(found.group(1)) / 1000


def _create_alerts_topic(ctx: BenchContext, topic: str) -> None:
    client = bus.admin(ctx.servers)
    try:
        client.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=CATALOG["alerts"].partitions,
                    replication_factor=1,
                    topic_configs={"message.timestamp.type": "LogAppendTime"},
                )
            ]
        )
    finally:
        client.close()


def _log_append_time(ctx: BenchContext, topic: str) -> None:
    client = bus.admin(ctx.servers)
    try:
        client.alter_configs(
            [ConfigResource("TOPIC", topic, configs={"message.timestamp.type": "LogAppendTime"})],
            raise_on_unknown=False,
        )
    finally:
        client.close()


def _read_alerts(ctx: BenchContext, topic: str, decode: Decode) -> tuple[set[Fired], float | None]:
    """The FIRING alerts (the latest record of each key) and the append time of the first."""
    reader: KafkaConsumer = bus.consumer(ctx.servers, group_id=None)
    try:
        parts = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        reader.assign(parts)
        reader.seek_to_beginning(*parts)
        latest: dict[bytes, tuple[str, str, str, str] | None] = {}
        first: float | None = None
        settled_at = time.monotonic()
        deadline = settled_at + DRAIN_TIMEOUT_S
        ends = reader.end_offsets(parts)
        while time.monotonic() < deadline:
            for batch in reader.poll(timeout_ms=200).values():
                for record in batch:
                    at = record.timestamp / 1000
                    first = at if first is None else min(first, at)
                    latest[record.key] = None if record.value is None else decode(record.value)
            if all(reader.position(tp) >= ends[tp] for tp in parts):
                now_ends = reader.end_offsets(parts)
                if now_ends != ends:
                    ends, settled_at = now_ends, time.monotonic()
                elif time.monotonic() - settled_at >= SETTLE_S:
                    break
                else:
                    time.sleep(0.1)
        else:
            raise RuntimeError(f"{topic} kept growing for {DRAIN_TIMEOUT_S:.0f} s after the drain")
    finally:
        reader.close()
    fired = {
        (t, s, sev) for t, s, sev, status in filter(None, latest.values()) if status == "FIRING"
    }
    return fired, first


def _json_alert(value: bytes) -> tuple[str, str, str, str]:
    doc = json.loads(value)
    return doc["type"], doc["subject"], doc["severity"] or "", doc["status"]


class PeerFailed(RuntimeError):
    """A peer could not finish its run; the message holds its processes' log tails."""


def _logs_of(peer: Peer, workdir: Path) -> list[Path]:
    """One log file per process of the peer."""
    name = peer.name.replace(" ", "-")
    if len(peer.envs) == 1:
        return [workdir / f"peer-{name}.log"]
    return [workdir / f"peer-{name}-{i + 1}.log" for i in range(len(peer.envs))]


def _failure(
    peer: Peer, problem: str, procs: list[subprocess.Popen[bytes]], logs: list[Path]
) -> PeerFailed:
    """`problem` with each process's exit code (if it exited) and the tail of its log."""
    parts = [problem]
    for i, (proc, log) in enumerate(zip(procs, logs, strict=True)):
        code = proc.poll()
        state = "running" if code is None else f"exited with code {code}"
        parts.append(f"[{peer.name} process {i + 1}, {state}, {log}]\n{log_tail(log, 15)}")
    return PeerFailed("\n".join(parts))


def play(ctx: BenchContext, source: str, peer: Peer) -> Outcome:
    """Run one peer over the backlog until drained; its figures and final firing set."""
    logs = _logs_of(peer, ctx.workdir)
    procs = [spawn_command(peer.argv, env, log) for env, log in zip(peer.envs, logs, strict=True)]
    lag = GroupLag(ctx, peer.group, {source}, peer.internal)

    def cpu_seconds() -> float:
        return sum(tree_cpu_seconds(proc.pid) for proc in procs)

    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while (started := peer.started(logs[0])) is None:
            if any(proc.poll() is not None for proc in procs):
                raise _failure(peer, f"{peer.name} exited before reading", procs, logs)
            if time.monotonic() > deadline:
                raise _failure(
                    peer, f"{peer.name} read nothing in {START_TIMEOUT_S:.0f} s", procs, logs
                )
            time.sleep(0.02)
        cpu_start = cpu_seconds()
        try:
            drained = lag.wait_drained(
                DRAIN_TIMEOUT_S, lambda: all(proc.poll() is None for proc in procs)
            )
        except RuntimeError as exc:
            raise _failure(peer, str(exc), procs, logs) from exc
        cpu = cpu_seconds() - cpu_start
        fired: set[Fired] | None = None
        first_alert: float | None = None
        if peer.alerts_topic is not None and peer.decode is not None:
            fired, first = _read_alerts(ctx, peer.alerts_topic, peer.decode)
            first_alert = None if first is None else first - started
        return Outcome(peer.name, drained - started, cpu, first_alert, fired, peer.version)
    finally:
        lag.close()
        for proc in procs:
            stop_group(proc.pid, timeout_s=30)


# --- the peers -----------------------------------------------------------------------------


def parklink_peer(ctx: BenchContext, b: _Backlog, workers: int = 1) -> Peer:
    """ParkLink's detector: `workers` worker processes in one consumer group, with a fresh
    alerts topic (its own prefix) each time."""
    group = f"bench-shp-{uuid.uuid4().hex[:6]}"
    ports = [free_port() for _ in range(workers)]
    http = httpx.Client(timeout=1.0)
    ctx.on_close(http.close)
    _log_append_time(ctx, CATALOG["alerts"].topic(b.prefix))

    def read_by(url: str) -> bool:
        """Whether its events-in counter shows a read; a worker without that counter
        counts from when /readyz first answers (later than its first read, if anything)."""
        try:
            text = http.get(f"{url}/metrics").text
            lines = [
                line
                for line in text.splitlines()
                if line.startswith("parklink_detector_events_in_total{")
            ]
            if not lines:
                return http.get(f"{url}/readyz").status_code == 200
        except httpx.HTTPError:
            return False
        return sum(float(line.rsplit(" ", 1)[1]) for line in lines) > 0

    def started(_: Path) -> float | None:
        """When the first of its workers has read a record."""
        found = any(read_by(f"http://127.0.0.1:{port}") for port in ports)
        return time.time() if found else None

    alerts = Deserializer(b.registry, DisruptionAlert)

    def decode(value: bytes) -> tuple[str, str, str, str]:
        a = alerts.deserialize(value)
        return a.type, a.subject, a.severity.value, a.status.value

    own = f"{b.prefix}{group}-"
    env = {
        "PARKLINK_KAFKA_BOOTSTRAP": ctx.bootstrap,
        "PARKLINK_LOG_LEVEL": "WARNING",
        "PARKLINK_TOPIC_PREFIX": b.prefix,
        "PARKLINK_REGISTRY_URL": b.registry_url,
        "PARKLINK_STATE_DIR": str(ctx.workdir),
        "PARKLINK_DETECTOR_GROUP": group,
        # The backlog spans more than the default 30-day horizon of event times; the
        # peers judge every event, so ParkLink must too.
        "PARKLINK_EVENT_TIME_HORIZON_S": str(int(HORIZON.total_seconds())),
    }
    return Peer(
        name="ParkLink" if workers == 1 else f"ParkLink x{workers}",
        argv=[sys.executable, "-m", "parklink.detector"],
        envs=[{**env, "PARKLINK_DETECTOR_PORT": str(port)} for port in ports],
        group=group,
        internal=lambda t: t.startswith(own) and not t.endswith("-changelog"),
        alerts_topic=CATALOG["alerts"].topic(b.prefix),
        decode=decode,
        started=started,
        version=f"faust-streaming {lib_version('faust-streaming')}, {workers} worker "
        f"process{'es' if workers > 1 else ''} in one group",
    )


def quix_python(log: Path) -> Path:
    """The Quix Streams virtualenv's interpreter, made on first use and kept."""
    python = QUIX_VENV / "bin" / "python"
    marker = QUIX_VENV / "parklink-requirements.txt"
    wanted = "\n".join(QUIX_REQUIREMENTS) + "\n"
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        return python
    print(f"making the Quix Streams virtualenv in {QUIX_VENV} ...", file=sys.stderr, flush=True)
    shutil.rmtree(QUIX_VENV, ignore_errors=True)
    base = getattr(sys, "_base_executable", sys.executable)
    with log.open("ab") as out:
        for argv in (
            [base, "-m", "venv", str(QUIX_VENV)],
            [str(python), "-m", "pip", "install", "--quiet", *QUIX_REQUIREMENTS],
        ):
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(argv)} failed: {log_tail(log)}")
    marker.write_text(wanted)
    return python


def _venv_version(python: Path, package: str) -> str:
    done = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "?"


def peer_login() -> dict[str, str]:
    """The peers' environment: the bench broker's login as librdkafka settings, in JSON (a
    password, so in the environment and never in argv). Every peer logs in as the bench's
    admin over SASL_SSL, as ParkLink's worker does."""
    conf = bus.client_security().confluent()
    # The same settings one variable each (PEER_KAFKA_SASL_USERNAME, ...) for the Java peer.
    each = {f"PEER_KAFKA_{k.upper().replace('.', '_')}": v for k, v in conf.items()}
    return {PEER_KAFKA_ENV: json.dumps(conf), **each}


def quix_peer(ctx: BenchContext, b: _Backlog) -> Peer:
    python = quix_python(ctx.workdir / "quix-venv.log")
    group = f"bench-quix-{uuid.uuid4().hex[:6]}"
    topic = f"{b.prefix}peer-quix.alerts"
    _create_alerts_topic(ctx, topic)
    state = ctx.workdir / "quix-state" / group
    return Peer(
        name="Quix",
        argv=[
            str(python),
            str(PEERS_DIR / "quix_rules.py"),
            ctx.bootstrap,
            b.registry_url,
            b.topic,
            topic,
            group,
            str(state),
        ],
        envs=[peer_login()],
        group=group,
        internal=lambda t: t.startswith(f"repartition__{group}--"),
        alerts_topic=topic,
        decode=_json_alert,
        started=_first_record_line,
        version=f"quixstreams {_venv_version(python, 'quixstreams')}, RocksDB state",
    )


def kstreams_jar(log: Path) -> Path:
    """The Kafka Streams peer's jar, built with Maven once per version of its sources."""
    sources = sorted(p for p in KSTREAMS_SOURCE.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for path in sources:
        digest.update(str(path.relative_to(KSTREAMS_SOURCE)).encode())
        digest.update(path.read_bytes())
    home = KSTREAMS_CACHE / digest.hexdigest()[:16]
    jar = home / "kstreams-peer.jar"
    if jar.exists():
        return jar
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("Maven (mvn) is not on PATH")
    print(f"building the Kafka Streams peer into {home} ...", file=sys.stderr, flush=True)
    build = home / "build"
    with log.open("ab") as out:
        done = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(KSTREAMS_SOURCE / "pom.xml"),
                f"-Dpeer.build.dir={build}",
                "package",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    built = build / "kstreams-peer.jar"
    if done.returncode != 0 or not built.exists():
        raise RuntimeError(f"the Maven build failed (code {done.returncode}): {log_tail(log)}")
    shutil.copy2(built, jar)
    shutil.rmtree(build, ignore_errors=True)
    return jar


def kstreams_peer(ctx: BenchContext, b: _Backlog) -> Peer:
    jar = kstreams_jar(ctx.workdir / "kstreams-build.log")
    app_id = f"bench-kstreams-{uuid.uuid4().hex[:6]}"
    topic = f"{b.prefix}peer-kstreams.alerts"
    _create_alerts_topic(ctx, topic)
    java = shutil.which("java") or "java"
    return Peer(
        name="KafkaStreams",
        argv=[
            java,
            "-Xmx1g",
            "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
            "-jar",
            str(jar),
            ctx.bootstrap,
            b.registry_url,
            b.topic,
            topic,
            app_id,
            str(ctx.workdir / "kstreams-state"),
        ],
        envs=[peer_login()],
        group=app_id,
        internal=lambda t: t.startswith(f"{app_id}-") and t.endswith("-repartition"),
        alerts_topic=topic,
        decode=_json_alert,
        started=_first_record_line,
        version="kafka-streams 4.1.1, 1 stream thread, RocksDB state",
    )


def raw_peer(ctx: BenchContext, b: _Backlog) -> Peer:
    group = f"bench-raw-{uuid.uuid4().hex[:6]}"
    return Peer(
        name="raw",
        argv=[
            sys.executable,
            str(PEERS_DIR / "raw_consume.py"),
            ctx.bootstrap,
            b.registry_url,
            b.topic,
            group,
        ],
        envs=[peer_login()],
        group=group,
        internal=lambda _: False,
        alerts_topic=None,
        decode=None,
        started=_first_record_line,
        version=f"confluent-kafka {lib_version('confluent-kafka')} + fastavro "
        f"{lib_version('fastavro')}, decode only",
    )


PEERS: tuple[Callable[[BenchContext, _Backlog], Peer], ...] = (
    parklink_peer,
    quix_peer,
    kstreams_peer,
    raw_peer,
)
PEERS_ENV = "PARKLINK_BENCH_PEERS"
KEEP_LOGS_ENV = "PARKLINK_BENCH_KEEP_LOGS"
RUNS = (*(make.__name__.removesuffix("_peer") for make in PEERS), "x2")
"""What PARKLINK_BENCH_PEERS may name: the peers, and x2 (two ParkLink workers)."""


def chosen_peers(value: str) -> frozenset[str]:
    """The runs that PARKLINK_BENCH_PEERS names (comma-separated), all of them if empty."""
    names = frozenset(n.strip() for n in value.split(",") if n.strip())
    unknown = names - set(RUNS)
    if unknown:
        raise ValueError(
            f"{PEERS_ENV} names {', '.join(sorted(unknown))}; known: {', '.join(RUNS)}"
        )
    return names or frozenset(RUNS)


def _keep_logs(workdir: Path, target: str) -> None:
    """Copy the peers' logs to `target` (PARKLINK_BENCH_KEEP_LOGS), if one is given: the
    work directory goes when the bench ends."""
    if not target:
        return
    keep = Path(target)
    keep.mkdir(parents=True, exist_ok=True)
    for log in workdir.glob("peer-*.log"):
        shutil.copy2(log, keep / log.name)


# --- the backlog and the table -------------------------------------------------------------


def _produce(ctx: BenchContext) -> _Backlog:
    prefix = f"bshp{uuid.uuid4().hex[:6]}."
    apply_catalog(CATALOG, ctx.servers, prefix)
    registry_url = start_registry(ctx)
    registry = RegistryClient(registry_url)
    ctx.on_close(registry.close)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    backlog = generate(now - SPAN - timedelta(hours=1))
    topic = CATALOG["shipments"].topic(prefix)
    serializer = Serializer(registry, ShipmentEvent, CATALOG["shipments"].subject(prefix))
    records = [(e.key().encode(), serializer.serialize(e)) for e in backlog.events]
    _publish(ctx, topic, records)
    return _Backlog(
        topic, registry_url, prefix, reference(backlog.events), backlog, registry, records
    )


def _publish(ctx: BenchContext, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    producer = bus.producer(ctx.servers, linger_ms=5)
    try:
        for key, value in records:
            producer.send(topic, key=key, value=value)
        producer.flush()
    finally:
        producer.close()


def _copy(ctx: BenchContext, b: _Backlog) -> _Backlog:
    """The same records on the topics of another prefix (a detector's alerts topic and its
    own topics are per prefix and group, so a second ParkLink run starts from nothing)."""
    prefix = f"bshp{uuid.uuid4().hex[:6]}."
    apply_catalog(CATALOG, ctx.servers, prefix)
    topic = CATALOG["shipments"].topic(prefix)
    _publish(ctx, topic, b.records)
    return replace(b, topic=topic, prefix=prefix)


def _fired_note(fired: set[Fired]) -> str:
    kinds: dict[str, int] = {}
    for kind, _, severity in fired:
        label = f"{kind} {severity}"
        kinds[label] = kinds.get(label, 0) + 1
    return ", ".join(f"{n} {label}" for label, n in sorted(kinds.items()))


def _figure_rows(o: Outcome) -> list[Row]:
    rows = [
        Row("shipments", f"{o.peer} events/s", o.rate, "ev/s", f"{o.version}; {o.seconds:.1f} s"),
        Row(
            "shipments",
            f"{o.peer} CPU per event",
            o.cpu_us,
            "us/ev",
            f"{o.cpu_s:.1f} CPU s over the run, {o.cpu_s / o.seconds:.2f} cores on average"
            + (f"; goal <= {GOAL_CPU_US:g}" if o.peer == "ParkLink" else ""),
        ),
    ]
    if o.fired is not None:
        rows.append(
            Row(
                "shipments",
                f"{o.peer} first alert",
                math.nan if o.first_alert_s is None else o.first_alert_s,
                "s",
                ("no alert at all" if o.first_alert_s is None else "after its first read")
                + (f"; goal <= {GOAL_FIRST_ALERT_S:g}" if o.peer == "ParkLink" else ""),
            )
        )
    return rows


def _agreement_rows(expected: set[Fired], outcomes: list[Outcome]) -> list[Row]:
    """How many peers left the reference's firing set; a FAILED row for each that did not."""
    judged = [o for o in outcomes if o.fired is not None]
    agree = [o.peer for o in judged if o.fired == expected]
    differ = [o.peer for o in judged if o.fired != expected]
    rows = [
        Row(
            "shipments",
            "final firing sets equal to the reference",
            float(len(agree)),
            f"of {len(judged)}",
            f"reference: {_fired_note(expected)}; agree: {', '.join(agree) or 'none'}; "
            f"differ: {', '.join(differ) or 'none'}",
        )
    ]
    for o in judged:
        if o.fired is None or o.fired == expected:
            continue
        missing, extra = sorted(expected - o.fired), sorted(o.fired - expected)
        rows.append(
            Row(
                "shipments",
                f"FAILED {o.peer} firing set differs",
                float(len(missing) + len(extra)),
                "alerts",
                f"{len(missing)} missing (e.g. {missing[:3]}), {len(extra)} extra "
                f"(e.g. {extra[:3]})",
            )
        )
    return rows


def _ratio_rows(outcomes: dict[str, Outcome]) -> list[Row]:
    ours = outcomes.get("ParkLink")
    rows: list[Row] = []
    for peer, goal in (("KafkaStreams", "goal >= 1.0"), ("Quix", "goal >= 1.0")):
        other = outcomes.get(peer)
        if ours is None or other is None:
            continue
        rows.append(
            Row(
                "shipments",
                f"ParkLink/{peer} events/s",
                ours.rate / other.rate,
                "x",
                f"{goal}; CPU per event ParkLink/{peer} {ours.cpu_us / other.cpu_us:.2f} x; "
                f"cores used ParkLink/{peer} {ours.cpu_s / ours.seconds:.2f}/"
                f"{other.cpu_s / other.seconds:.2f}",
            )
        )
    return rows


def run(ctx: BenchContext) -> list[Row]:
    b = _produce(ctx)
    rows = [
        Row(
            "shipments",
            "backlog",
            float(len(b.backlog.events)),
            "events",
            f"{SHIPMENTS:,} shipments, {b.backlog.duplicates:,} repeated event ids, "
            f"{b.backlog.late_updates:,} updates after a newer one; one topic, "
            f"{CATALOG['shipments'].partitions} partitions; noisy shared host, broker on it",
        )
    ]
    outcomes: dict[str, Outcome] = {}
    chosen = chosen_peers(os.environ.get(PEERS_ENV, ""))
    for make in PEERS:
        name = make.__name__.removesuffix("_peer")
        if name not in chosen:
            continue
        print(f"  shipments: {name} ...", file=sys.stderr, flush=True)
        try:
            outcome = play(ctx, b.topic, make(ctx, b))
        except Exception as exc:  # one peer that cannot run must not hide the others
            rows.append(
                Row("shipments", f"FAILED {name}", math.nan, "", f"{type(exc).__name__}: {exc}")
            )
            continue
        outcomes[outcome.peer] = outcome
        rows += _figure_rows(outcome)
    if "x2" in chosen:
        print("  shipments: two ParkLink workers in one group ...", file=sys.stderr, flush=True)
        try:
            pair = _copy(ctx, b)
            outcome = play(ctx, pair.topic, parklink_peer(ctx, pair, workers=2))
            outcomes[outcome.peer] = outcome
            rows += _figure_rows(outcome)
        except Exception as exc:
            rows.append(
                Row("shipments", "FAILED ParkLink x2", math.nan, "", f"{type(exc).__name__}: {exc}")
            )
    _keep_logs(ctx.workdir, os.environ.get(KEEP_LOGS_ENV, ""))
    rows += _ratio_rows(outcomes)
    rows += _agreement_rows(b.expected, list(outcomes.values()))
    rows += _group_rows(outcomes)
    return rows


def _group_rows(outcomes: dict[str, Outcome]) -> list[Row]:
    """Whether two workers in one group leave the final firing set of one worker."""
    one, two = outcomes.get("ParkLink"), outcomes.get("ParkLink x2")
    if one is None or two is None or one.fired is None or two.fired is None:
        return []
    same = one.fired == two.fired
    return [
        Row(
            "shipments",
            "2 workers in one group: same final firing set as 1"
            if same
            else "FAILED 2 workers in one group: final firing set differs from 1 worker's",
            1.0 if same else 0.0,
            "yes" if same else "no",
            f"1 worker: {len(one.fired)} firing, 2 workers: {len(two.fired)} firing; "
            f"{len(one.fired ^ two.fired)} differ",
        )
    ]
