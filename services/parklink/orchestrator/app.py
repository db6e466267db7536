"""`parklink up`: Kafka, topics, registry and schemas, tokens, then gateway, detector, console
and simulator as child processes, each waited for until ready; one short block of addresses.
In the foreground until Ctrl-C, SIGTERM, SIGHUP or a closed stdout (then everything stops in
reverse order), or `--detach`ed with the pids in `<state>/run.json` for `parklink down`.
A foreground network dies with its supervisor even when that is killed outright: each part
has a parent-death guard, and a watchdog stops what the run file still lists (Kafka too)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Sequence
from types import FrameType
from typing import Any

from parklink.eventkit import access, bus, lifecycle, service
from parklink.eventkit.bus import wait_for_kafka
from parklink.eventkit.catalog import Catalog, load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.registry_client import RegistryClient, registry_credentials
from parklink.eventkit.schemas import register_schemas
from parklink.eventkit.settings import load_settings
from parklink.eventkit.topic_admin import apply_catalog
from parklink.kafkalocal.config import KafkaLocalSettings
from parklink.kafkalocal.runner import LocalKafka
from parklink.orchestrator import supervisor
from parklink.orchestrator.cli import add_up_arguments
from parklink.orchestrator.config import OrchestratorSettings
from parklink.orchestrator.plan import Part, plan
from parklink.orchestrator.supervisor import Running
from parklink.simulator import credentials
from parklink.simulator.geography import PARKS

log = logging.getLogger(__name__)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """Ctrl-C, SIGTERM, SIGHUP or a closed stdout: stop what was started."""


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def say(text: str) -> None:
    """One line for the user. When nobody reads them any more (`parklink up | head -1`),
    the rest go nowhere and the network stops, as it does for Ctrl-C."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        raise Interrupted("stdout closed") from None


class Network:
    def __init__(
        self, settings: OrchestratorSettings, simulator: bool, foreground: bool = True
    ) -> None:
        self.settings = settings
        self.simulator = simulator
        self.foreground = foreground
        self.state_dir = settings.state_dir.resolve()
        self.logs = self.state_dir / "logs"
        self.running: list[Running] = []
        self.kafka: LocalKafka | None = None  # set when this run started Kafka
        self.bootstrap = ""
        self.watchdog: int | None = None  # the write end of the watchdog's pipe

    # -- start --------------------------------------------------------------------------------
    def start(self) -> str:
        """Start everything; returns the operator token."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._refuse_second_network()
        if self.foreground:
            self.watchdog = supervisor.start_watchdog(self.state_dir, self.logs)
        self.bootstrap = self._kafka()
        self._record()
        parts = plan(self.settings, self.state_dir, self.bootstrap, os.environ, self.simulator)
        self._check_ports(parts)
        say("applying the topic catalog ...")
        catalog = load_catalog()
        apply_catalog(catalog, self.bootstrap.split(","), self.settings.topic_prefix)
        self._grant_parts(catalog)
        tokens = credentials.ensure(
            self.state_dir,
            self.state_dir / "demo-tokens.json",
            [p.park_id for p in PARKS],
            operator=True,
        )
        by_name = {p.name: p for p in parts}
        self._launch([by_name["registry"]])
        self._register_schemas(by_name["registry"], catalog)
        self._launch([by_name[n] for n in ("gateway", "relay", "detector", "console")])
        if self.simulator:
            self._launch([by_name["simulator"]])
        if tokens.operator is None:
            raise ParkLinkError("no operator token could be issued")
        return tokens.operator

    def _grant_parts(self, catalog: Catalog) -> None:
        """Each part logs in to Kafka as itself: grant it its ACLs for the topic prefix,
        registry topic and groups of this run (idempotent; as the operator, whose login this
        process has). A plain listener has no ACLs."""
        local = load_settings(KafkaLocalSettings)
        if local.kafka_security_protocol == "PLAINTEXT":
            return
        names = access.Names(
            self.settings.topic_prefix,
            local.registry_topic,
            local.detector_group,
            local.relay_group,
        )
        client = bus.admin(self.bootstrap.split(","))
        try:
            for service in access.SERVICES:
                access.grant(client, service, access.service_grants(service, catalog, names))
        finally:
            client.close()

    def _refuse_second_network(self) -> None:
        doc = supervisor.read_run_file(self.state_dir)
        if doc is None:
            return
        live = [p for p in doc.get("parts", []) if supervisor.runs_module(p["pid"], p["module"])]
        if live:
            raise ParkLinkError(
                f"a network from {self.state_dir} is already running "
                f"({', '.join(p['name'] for p in live)}); `parklink down` stops it"
            )
        (self.state_dir / supervisor.RUN_FILE).unlink()

    def _kafka(self) -> str:
        given = os.environ.get("PARKLINK_KAFKA_BOOTSTRAP")
        if given:
            say(f"using the Kafka cluster at {given} (PARKLINK_KAFKA_BOOTSTRAP)")
            wait_for_kafka(given.split(","), timeout_s=30)
            return given
        kafka = LocalKafka(
            load_settings(
                KafkaLocalSettings, state_dir=self.state_dir, cache_dir=self.settings.cache_dir
            )
        )
        if kafka.running():
            bootstrap = kafka.bootstrap()
            say(f"reusing the local Kafka already running at {bootstrap}")
            return bootstrap
        say(f"starting Apache Kafka {kafka.version} (KRaft); jars cached in {kafka.libs} ...")
        # Recorded before it starts: whatever ends this run from here on stops it too.
        self.kafka = kafka
        self._record()
        return kafka.up(1)

    def _check_ports(self, parts: list[Part]) -> None:
        taken = [p for p in parts if lifecycle.port_open(p.port)]
        if taken:
            raise ParkLinkError(
                "; ".join(
                    f"port {p.port} for the {p.name} is taken by another program "
                    f"(stop it or set {p.port_setting})"
                    for p in taken
                )
            )

    def _launch(self, parts: list[Part]) -> None:
        started = []
        for part in parts:
            say(f"starting the {part.name} on {part.url} ...")
            running = supervisor.start(part, self.logs, die_with_parent=self.foreground)
            self.running.append(running)
            started.append(running)
            self._record()
        for running in started:
            supervisor.wait_ready(running, self.settings.up_ready_timeout_s)

    def _register_schemas(self, registry: Part, catalog: Catalog) -> None:
        say("registering schemas/ with the registry ...")
        # As `parklink schemas register`: the registry's writer, unless a user is configured.
        s = self.settings
        auth = registry_credentials(s, None if s.registry_user else "writer")
        client = RegistryClient(registry.env["PARKLINK_REGISTRY_URL"], auth=auth)
        try:
            done, skipped = register_schemas(client, catalog, self.settings.topic_prefix)
        finally:
            client.close()
        with (self.logs / "setup.log").open("a", encoding="utf-8") as out:
            out.writelines(f"{r.subject} -> id {r.schema_id}, version {r.version}\n" for r in done)
            out.writelines(
                f"skipped {name}: no topic of the catalog carries it\n" for name in skipped
            )

    def _record(self) -> None:
        supervisor.write_run_file(
            self.state_dir,
            {
                "started_at": time.time(),
                "orchestrator_pid": os.getpid(),
                "kafka_started": self.kafka is not None,
                "bootstrap": self.bootstrap,
                "parts": [r.to_json() for r in self.running],
            },
        )

    # -- watch and stop -----------------------------------------------------------------------
    def watch(self) -> None:
        """Until a signal: a part that dies stops the network with its log tail."""
        while True:
            for running in self.running:
                code = running.exited()
                if code is not None:
                    raise ParkLinkError(
                        f"the {running.part.name} exited (code {code}); last lines of "
                        f"{running.log}:\n{lifecycle.log_tail(running.log)}"
                    )
            time.sleep(1.0)

    def stop(self) -> None:
        for running in reversed(self.running):
            say(f"stopping the {running.part.name} ...")
            lifecycle.stop_group(running.pid, running.part.port, running.part.stop_timeout_s)
        self.running.clear()
        if self.kafka is not None:
            say("stopping Kafka ...")
            self.kafka.down()
        (self.state_dir / supervisor.RUN_FILE).unlink(missing_ok=True)


def banner(network: Network, operator_token: str, detach: bool) -> str:
    s = network.settings
    lines = [
        "",
        f"ParkLink is up. State: {network.state_dir}   logs: {network.logs}/<part>.log",
        f"  console    http://127.0.0.1:{s.console_port}/?token={operator_token}",
        f"  gateway    http://127.0.0.1:{s.gateway_port}   (park tokens: "
        f"{network.state_dir / 'demo-tokens.json'})",
        f"  registry   http://127.0.0.1:{s.registry_port}",
        f"  kafka      {network.bootstrap}",
    ]
    if network.simulator:
        env = network.running[0].part.env
        silent = env.get("PARKLINK_SILENT_WARNING_SECONDS")
        lines.append(
            f"  simulator  8 parks; scenarios {env.get('PARKLINK_SIMULATOR_SCENARIOS', '')}"
        )
        if silent:
            lines.append(
                f"  demo       PARK_SILENT after {silent} s of silence instead of 6 h "
                "(PARKLINK_SILENT_WARNING_SECONDS)"
            )
    lines.append("`parklink down` stops it." if detach else "Ctrl-C stops everything.")
    return "\n".join(lines)


def up(args: argparse.Namespace, settings: OrchestratorSettings) -> int:
    network = Network(settings, simulator=not args.no_simulator, foreground=not args.detach)
    previous = {s: signal.signal(s, _interrupt) for s in STOP_SIGNALS}
    try:
        token = network.start()
        say(banner(network, token, args.detach))
        if args.detach:
            return 0
        network.watch()
        return 0
    except Interrupted:
        with contextlib.suppress(Interrupted):
            say("\nstopping ...")
        return 0
    except BaseException:
        with contextlib.suppress(Interrupted):
            say("the start failed; stopping what was started ...")
        raise
    finally:
        # A second Ctrl-C must not leave half the network behind.
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)
        if not args.detach or sys.exc_info()[0] is not None:
            network.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if network.watchdog is not None:
            os.close(network.watchdog)  # nothing left for it to stop: it exits


def down(settings: OrchestratorSettings) -> int:
    state_dir = settings.state_dir.resolve()
    doc = supervisor.read_run_file(state_dir)
    if doc is None:
        say(f"no network is running from {state_dir} (no {supervisor.RUN_FILE})")
        return 0
    parts: list[dict[str, Any]] = doc.get("parts", [])
    for part in reversed(parts):
        if supervisor.runs_module(part["pid"], part["module"]):
            say(f"stopping the {part['name']} (pid {part['pid']}) ...")
            timeout = float(part.get("stop_timeout_s", settings.up_stop_timeout_s))
            lifecycle.stop_group(part["pid"], part.get("port"), timeout)
    if doc.get("kafka_started"):
        say("stopping Kafka ...")
        LocalKafka(load_settings(KafkaLocalSettings, state_dir=state_dir)).down()
    (state_dir / supervisor.RUN_FILE).unlink(missing_ok=True)
    say("stopped.")
    return 0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m parklink.orchestrator")
    add_up_arguments(parser)
    args = parser.parse_args(argv)
    service.main(OrchestratorSettings, lambda settings: up(args, settings))
