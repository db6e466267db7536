"""Fetch, configure, start, watch and stop a local KRaft cluster of 1 or 3 nodes, secured:
SASL/SCRAM over TLS for clients, ACLs (StandardAuthorizer), an admin super user made when the
storage is formatted, and one principal per ParkLink service (see docs/security.md).

Layout under the state dir: `kafka/cluster.json` (what was started) and per node
`kafka/node-N/{server.properties,data/,kafka.log,pid}`; TLS material and passwords under
`secrets/kafka/` (0700/0600). Jars are cached under the cache dir (`kafka-<version>/libs`),
shared by every checkout on the machine."""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from parklink.eventkit import access, credentials
from parklink.eventkit.bus import ClientSecurity, KafkaUnavailable, admin, wait_for_kafka
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.lifecycle import log_tail, pid_alive, port_open, signal_group
from parklink.eventkit.paths import DEPLOY_DIR
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.tls import broker_principal, ensure_tls

log = logging.getLogger(__name__)

RECIPE_DIR = DEPLOY_DIR / "kafka"
POM = RECIPE_DIR / "pom.xml"
ADMIN, BROKER = "admin", "broker"
SCRAM = "SCRAM-SHA-512"
CLASSES_DUMP = "classes.jsa"
"""What a node's JVM writes on exit while there is no class archive yet (see _java)."""


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text(encoding="utf-8"))
    if not match:
        raise ParkLinkError(f"{POM} does not set <kafka.version>")
    return match.group(1)


@dataclass(frozen=True)
class Node:
    node_id: int
    broker_port: int
    controller_port: int
    home: Path
    plain_port: int | None = None

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    @property
    def data_dir(self) -> Path:
        return self.home / "data"

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.broker_port}"

    @property
    def plain_bootstrap(self) -> str | None:
        return None if self.plain_port is None else f"127.0.0.1:{self.plain_port}"


@dataclass(frozen=True)
class NodeStatus:
    node: Node
    pid: int | None

    @property
    def running(self) -> bool:
        return self.pid is not None


def new_cluster_id() -> str:
    """A KRaft cluster id: a base64url UUID. Like Kafka's own Uuid.randomUuid(), never one
    that starts with '-', which the storage tool's argument parser would take for an option."""
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


class LocalKafka:
    def __init__(self, settings: KafkaLocalSettings) -> None:
        self.settings = settings
        self.home = settings.state_dir.resolve() / "kafka"
        # Always under its own state dir (PARKLINK_KAFKA_SECRETS_DIR tells clients where to
        # look; a cluster started beside another must not take over the other's secrets).
        self.secrets = credentials.kafka_secrets_dir(settings.state_dir.resolve())
        self.version = kafka_version()
        self.libs = settings.cache_dir.expanduser().resolve() / f"kafka-{self.version}" / "libs"

    # -- layout -----------------------------------------------------------------------------
    def _cluster_file(self) -> Path:
        return self.home / "cluster.json"

    def nodes(self, count: int | None = None) -> list[Node]:
        if count is None:
            count = self._recorded_nodes()
        base = self.settings.kafka_base_port
        plain = self.settings.kafka_plaintext_base_port if self.settings.kafka_plaintext else None
        return [
            Node(
                i,
                base + 2 * i,
                base + 2 * i + 1,
                self.home / f"node-{i}",
                None if plain is None else plain + 2 * i,
            )
            for i in range(count)
        ]

    def _recorded_nodes(self) -> int:
        try:
            doc = json.loads(self._cluster_file().read_text())
            return int(doc["nodes"])
        except FileNotFoundError:
            return 1
        except (ValueError, KeyError, TypeError) as exc:
            raise ParkLinkError(
                f"state dir looks corrupt: {self._cluster_file()} is unreadable ({exc}); "
                f"remove {self.home} to start afresh"
            ) from exc

    def bootstrap(self, count: int | None = None) -> str:
        return ",".join(n.bootstrap for n in self.nodes(count))

    # -- identities -------------------------------------------------------------------------
    def security(self, user: str = ADMIN) -> ClientSecurity:
        """How a client logs in as `user` (admin, a service, or park-<ID>) on this cluster."""
        password = credentials.read_secret(credentials.kafka_password_file(self.secrets, user))
        return ClientSecurity("SASL_SSL", SCRAM, user, SecretStr(password), self.secrets / "ca.pem")

    def client_env(self, user: str = ADMIN, count: int | None = None) -> dict[str, str]:
        """The `PARKLINK_*` settings that make bus.py's clients log in as `user` here (paths
        only: the password stays in its file)."""
        return {"PARKLINK_KAFKA_BOOTSTRAP": self.bootstrap(count), **self.login_env(user)}

    def login_env(self, user: str = ADMIN) -> dict[str, str]:
        """`client_env` without the bootstrap: how to log in, not where to connect."""
        return {
            "PARKLINK_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "PARKLINK_KAFKA_SASL_MECHANISM": SCRAM,
            "PARKLINK_KAFKA_USER": user,
            "PARKLINK_KAFKA_SECRETS_DIR": str(self.secrets),
            "PARKLINK_REGISTRY_USERS_FILE": str(self.registry_users_file),
        }

    @property
    def registry_users_file(self) -> Path:
        return credentials.registry_users_file(self.settings.state_dir.resolve())

    def provision(self, bootstrap: list[str], names: access.Names | None = None) -> None:
        """Give every ParkLink service its principal and its ACLs (idempotent), and make the
        registry's users file."""
        s = self.settings
        names = names or access.Names(
            s.topic_prefix, s.registry_topic, s.detector_group, s.relay_group
        )
        catalog = load_catalog()
        client = admin(bootstrap, security=self.security())
        try:
            for service in access.SERVICES:
                password = credentials.ensure_kafka_password(self.secrets, service)
                access.upsert_user(client, service, password)
                access.grant(client, service, access.service_grants(service, catalog, names))
        finally:
            client.close()
        credentials.ensure_registry_users(self.registry_users_file)

    # -- jars -------------------------------------------------------------------------------
    def ensure_jars(self) -> Path:
        marker = self.libs.parent / ".complete"
        if marker.exists():
            return self.libs
        # Two runners fetching at once (two `kafka up`, parallel test workers) take turns:
        # the second finds the first's jars complete.
        self.libs.parent.mkdir(parents=True, exist_ok=True)
        with (self.libs.parent / ".fetch.lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if marker.exists():
                return self.libs
            return self._fetch_jars(marker)

    def _fetch_jars(self, marker: Path) -> Path:
        if shutil.which(self.settings.mvn) is None:
            raise ParkLinkError("Maven (mvn) is not installed; it fetches Kafka's jars")
        log.info("fetching Apache Kafka %s jars with Maven into %s", self.version, self.libs)
        tmp = self.libs.parent / "libs.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        cmd = [
            self.settings.mvn,
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={tmp}",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if proc.returncode != 0:
            raise ParkLinkError(
                "Maven could not fetch Kafka's jars:\n" + (proc.stdout + proc.stderr)[-2000:]
            )
        shutil.rmtree(self.libs, ignore_errors=True)
        tmp.rename(self.libs)
        marker.write_text(self.version)
        return self.libs

    def _java(
        self, main: str, *args: str, heap_mb: int = 256, dump_to: Path | None = None
    ) -> list[str]:
        """The JVM's command line. It maps the class archive when there is one (Java's
        application class data sharing: a node starts on about a third less CPU); without
        one, a JVM given `dump_to` writes the classes it loaded there when it exits, for
        `down` to keep as the archive."""
        archive = self.class_archive()
        if archive.exists():
            share = [f"-XX:SharedArchiveFile={archive}"]
        elif dump_to is not None:
            share = [f"-XX:ArchiveClassesAtExit={dump_to}"]
        else:
            share = []
        return [
            self.settings.java,
            *share,
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            f"-Dlog4j2.configurationFile={RECIPE_DIR / 'log4j2.properties'}",
            "-Djava.awt.headless=true",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def class_archive(self) -> Path:
        """One class archive per Kafka version (next to its jars) and Java binary."""
        java = shutil.which(self.settings.java) or self.settings.java
        try:
            stamp = f"{os.path.realpath(java)}:{os.stat(java).st_mtime_ns}"
        except OSError:
            stamp = java
        digest = hashlib.sha256(stamp.encode()).hexdigest()[:12]
        return self.libs.parent / f"classes-{digest}.jsa"

    def _keep_classes(self, dump: Path) -> None:
        """Make the classes a node's JVM wrote on a clean exit the archive, once Java maps
        it without complaint (a truncated archive would crash the JVMs that map it)."""
        archive = self.class_archive()
        if not dump.exists() or archive.exists():
            return
        candidate = archive.with_name(f"{archive.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            shutil.copyfile(dump, candidate)
            check = [self.settings.java, f"-XX:SharedArchiveFile={candidate}", "-Xshare:auto"]
            check += ["-cp", f"{self.libs}/*", "-version"]
            proc = subprocess.run(check, capture_output=True, text=True, check=False)  # noqa: S603
            if (
                proc.returncode == 0
                and "Unable to use shared archive" not in proc.stdout + proc.stderr
            ):
                os.replace(candidate, archive)
            else:
                log.warning("not keeping the class archive %s: %s", dump, proc.stderr[-500:])
        except OSError as exc:
            log.warning("not keeping the class archive %s: %s", dump, exc)
        finally:
            candidate.unlink(missing_ok=True)

    # -- status -----------------------------------------------------------------------------
    def status(self) -> list[NodeStatus]:
        out = []
        for node in self.nodes():
            pid = None
            if node.pid_file.exists():
                try:
                    candidate = int(node.pid_file.read_text().strip())
                except ValueError:
                    candidate = 0
                if candidate > 0 and pid_alive(candidate):
                    pid = candidate
            out.append(NodeStatus(node, pid))
        return out

    def running(self) -> bool:
        return any(s.running for s in self.status())

    # -- up ---------------------------------------------------------------------------------
    def up(self, count: int = 1) -> str:
        if count not in (1, 3):
            raise ParkLinkError("--nodes must be 1 or 3")
        live = [s for s in self.status() if s.running]
        if live:
            ports = ", ".join(str(s.node.broker_port) for s in live)
            raise ParkLinkError(
                f"Kafka is already running (pid {live[0].pid}, port {ports}); "
                "use `parklink kafka status`, or `parklink kafka down` first"
            )
        nodes = self.nodes(count)
        for node in nodes:
            for port in (node.broker_port, node.controller_port):
                if port_open(port):
                    raise ParkLinkError(
                        f"port {port} on 127.0.0.1 is already taken by another program; "
                        "stop it or set PARKLINK_KAFKA_BASE_PORT"
                    )
        if shutil.which(self.settings.java) is None:
            raise ParkLinkError("Java (17 or newer) is not installed; the local Kafka needs it")
        self.ensure_jars()
        recorded = self._cluster_file()
        if recorded.exists() and self._recorded_nodes() != count:
            raise ParkLinkError(
                f"{self.home} holds a {self._recorded_nodes()}-node cluster; "
                f"remove it (`parklink kafka down --wipe`) to start a {count}-node one"
            )
        cluster_id = self._cluster_id()
        if recorded.exists() and not json.loads(recorded.read_text()).get("secured"):
            raise ParkLinkError(
                f"{self.home} holds a cluster made without authentication; remove it "
                "(`parklink kafka down --wipe`) to start a secured one"
            )
        credentials.private_dir(self.home)
        ensure_tls(self.secrets)
        for user in (ADMIN, BROKER):
            credentials.ensure_kafka_password(self.secrets, user)
        recorded.write_text(json.dumps({"nodes": count, "cluster_id": cluster_id, "secured": True}))
        for node in nodes:
            self._configure(node, nodes)
            self._format(node, cluster_id)
        if self.settings.kafka_plaintext:
            log.warning(
                "plain listener on %s: no authentication, full access for anyone on this host",
                ",".join(str(n.plain_bootstrap) for n in nodes),
            )
        for node in nodes:
            self._start(node)
        bootstrap = [n.bootstrap for n in nodes]
        try:
            self._wait_ready(nodes)
            self.provision(bootstrap)
        except ParkLinkError:
            self.down()
            raise
        return ",".join(bootstrap)

    def _cluster_id(self) -> str:
        try:
            doc = json.loads(self._cluster_file().read_text())
            return str(doc["cluster_id"])
        except (FileNotFoundError, KeyError, ValueError):
            return new_cluster_id()

    def _configure(self, node: Node, nodes: list[Node]) -> None:
        node.home.mkdir(parents=True, exist_ok=True)
        replication = min(3, len(nodes))
        template = (RECIPE_DIR / "server.properties.template").read_text(encoding="utf-8")
        supers = [f"User:{ADMIN}", f"User:{BROKER}", broker_principal()]
        if node.plain_port is not None:
            supers.append("User:ANONYMOUS")
        broker_password = credentials.read_secret(
            credentials.kafka_password_file(self.secrets, BROKER)
        )
        props = template.format(
            plain_listener="" if node.plain_port is None else f",PLAIN://{node.plain_bootstrap}",
            plain_advertised="" if node.plain_port is None else f",PLAIN://{node.plain_bootstrap}",
            broker_password=broker_password,
            secrets=self.secrets,
            super_users=";".join(supers),
            node_id=node.node_id,
            voters=",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in nodes),
            broker_port=node.broker_port,
            controller_port=node.controller_port,
            data_dir=node.data_dir,
            replication=replication,
            min_isr=2 if replication >= 3 else 1,
        )
        credentials.write_secret(node.home / "server.properties", props)

    def _format(self, node: Node, cluster_id: str) -> None:
        meta = node.data_dir / "meta.properties"
        if meta.exists():
            text = meta.read_text(errors="replace")
            if f"cluster.id={cluster_id}" not in text:
                raise ParkLinkError(
                    f"state dir looks corrupt: {meta} belongs to another cluster; "
                    f"remove {self.home} (`parklink kafka down --wipe`) to start afresh"
                )
            return
        if node.data_dir.exists() and any(node.data_dir.iterdir()):
            raise ParkLinkError(
                f"state dir looks corrupt: {node.data_dir} has data but no meta.properties; "
                f"remove {self.home} (`parklink kafka down --wipe`) to start afresh"
            )
        # The admin and broker SCRAM credentials are bootstrapped with the storage; the
        # arguments go through a 0600 java @argfile so no password shows in argv.
        args = ["kafka.tools.StorageTool", "format", "-t", cluster_id]
        args += ["-c", str(node.home / "server.properties"), "--ignore-formatted"]
        for user in (ADMIN, BROKER):
            password = credentials.read_secret(credentials.kafka_password_file(self.secrets, user))
            args += ["--add-scram", f"{SCRAM}=[name={user},password={password}]"]
        argfile = node.home / "format.args"
        credentials.write_secret(argfile, "\n".join(f'"{a}"' for a in args) + "\n")
        try:
            cmd = self._java(f"@{argfile}")
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        finally:
            argfile.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise ParkLinkError(
                f"formatting Kafka storage for node {node.node_id} failed: "
                + (proc.stdout + proc.stderr).strip()[-1500:]
            )

    def _start(self, node: Node) -> None:
        (node.home / CLASSES_DUMP).unlink(missing_ok=True)
        cmd = self._java(
            "kafka.Kafka",
            str(node.home / "server.properties"),
            heap_mb=self.settings.kafka_heap_mb,
            dump_to=node.home / CLASSES_DUMP,
        )
        with node.log_file.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603
                cmd,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                cwd=node.home,
            )
        node.pid_file.write_text(str(proc.pid))
        log.info("started Kafka node %d (pid %d) on %s", node.node_id, proc.pid, node.bootstrap)

    def _wait_ready(self, nodes: list[Node]) -> None:
        deadline = time.monotonic() + self.settings.kafka_start_timeout_s
        bootstrap = [n.bootstrap for n in nodes]
        security = self.security()
        while True:
            dead = [s.node for s in self.status() if not s.running]
            if dead:
                node = dead[0]
                raise ParkLinkError(
                    f"Kafka node {node.node_id} exited during start; last lines of "
                    f"{node.log_file}:\n{log_tail(node.log_file)}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                node = nodes[0]
                limit = self.settings.kafka_start_timeout_s
                raise ParkLinkError(
                    f"Kafka did not become ready within {limit:.0f}s; "
                    f"last lines of {node.log_file}:\n{log_tail(node.log_file)}"
                )
            try:
                wait_for_kafka(
                    bootstrap,
                    brokers=len(nodes),
                    timeout_s=min(5.0, remaining),
                    security=security,
                )
                return
            except KafkaUnavailable:
                continue

    # -- down -------------------------------------------------------------------------------
    def down(self, wipe: bool = False, timeout_s: float = 30.0) -> list[int]:
        """Stop every node (SIGTERM, then SIGKILL after `timeout_s`); returns the pids stopped."""
        stopped = []
        statuses = self.status()
        for st in statuses:
            if st.pid is not None:
                signal_group(st.pid, signal.SIGTERM)
                stopped.append(st.pid)
        deadline = time.monotonic() + timeout_s
        killed = set()
        for pid in stopped:
            while pid_alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid_alive(pid):
                log.warning("Kafka pid %d ignored SIGTERM for %.0fs; killing it", pid, timeout_s)
                signal_group(pid, signal.SIGKILL)
                killed.add(pid)
                while pid_alive(pid):
                    time.sleep(0.05)
        for st in statuses:
            st.node.pid_file.unlink(missing_ok=True)
            dump = st.node.home / CLASSES_DUMP
            if st.pid is not None and st.pid not in killed:  # a killed JVM's dump is partial
                self._keep_classes(dump)
            dump.unlink(missing_ok=True)
            while port_open(st.node.broker_port) and time.monotonic() < deadline + 5:
                time.sleep(0.1)
        if wipe:
            shutil.rmtree(self.home, ignore_errors=True)
        return stopped


def iter_lines(statuses: list[NodeStatus]) -> Iterator[str]:
    for st in statuses:
        state = f"running (pid {st.pid})" if st.running else "stopped"
        yield f"node {st.node.node_id}: {st.node.bootstrap} {state}  log: {st.node.log_file}"


@contextmanager
def ephemeral_kafka(
    state_dir: Path, base_port: int, nodes: int = 1, plaintext_port: int | None = None
) -> Iterator[str]:
    """A throw-away secured cluster for tests and benchmarks: yields its bootstrap, wipes it
    after. While it runs, this process's environment holds its admin login
    (`LocalKafka.login_env`: protocol, user, secrets dir), so bus.py's clients and child
    processes log in to it; where to connect is still given explicitly."""
    settings = KafkaLocalSettings(
        state_dir=state_dir,
        kafka_base_port=base_port,
        kafka_plaintext=plaintext_port is not None,
        kafka_plaintext_base_port=plaintext_port or 9192,
    )
    kafka = LocalKafka(settings)
    bootstrap = kafka.up(nodes)
    saved = dict(os.environ)
    os.environ.update(kafka.login_env(ADMIN))
    try:
        yield bootstrap
    finally:
        os.environ.clear()
        os.environ.update(saved)
        kafka.down(wipe=True)
