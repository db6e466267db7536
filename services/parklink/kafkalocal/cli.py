"""`parklink kafka up|down|status`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parklink.kafkalocal.runner import LocalKafka


def register(subparsers: Any) -> None:
    kafka = subparsers.add_parser(
        "kafka",
        help="run a local Apache Kafka (KRaft) from Maven Central jars",
        description="A local Apache Kafka in KRaft mode, its jars fetched with Maven into "
        "PARKLINK_CACHE_DIR and its data under PARKLINK_STATE_DIR/kafka. Listens on 127.0.0.1 "
        "with SASL/SCRAM over TLS and ACLs; the CA and every service's password are written "
        "under PARKLINK_STATE_DIR/secrets/kafka (0600), where ParkLink's clients find them.",
    )
    sub = kafka.add_subparsers(dest="kafka_command", metavar="ACTION", required=True)
    up = sub.add_parser("up", help="start the broker(s) and wait until they answer")
    up.add_argument(
        "--nodes", type=int, choices=(1, 3), default=1, help="1 (default) or a 3-node quorum"
    )
    up.add_argument(
        "--plaintext",
        action="store_true",
        help="also open an unauthenticated listener with full access on "
        "PARKLINK_KAFKA_PLAINTEXT_BASE_PORT (default 9192): benchmarks and legacy tools only",
    )
    up.set_defaults(handler=_up)
    down = sub.add_parser("down", help="stop the broker(s); leaves no process or port behind")
    down.add_argument("--wipe", action="store_true", help="also delete the Kafka data")
    down.set_defaults(handler=_down)
    status = sub.add_parser("status", help="show which nodes run; exit 1 if none")
    status.set_defaults(handler=_status)


def _kafka(**overrides: Any) -> LocalKafka:
    from parklink.eventkit.settings import load_settings
    from parklink.kafkalocal.config import KafkaLocalSettings
    from parklink.kafkalocal.runner import LocalKafka

    return LocalKafka(load_settings(KafkaLocalSettings, **overrides))


def _up(args: argparse.Namespace) -> int:
    kafka = _kafka(**({"kafka_plaintext": True} if args.plaintext else {}))
    bootstrap = kafka.up(args.nodes)
    print(f"Kafka is up: {bootstrap} (SASL_SSL, SCRAM-SHA-512; CA {kafka.secrets / 'ca.pem'})")
    plain = [n.plain_bootstrap for n in kafka.nodes(args.nodes) if n.plain_bootstrap]
    if plain:
        print(f"plain listener without authentication: {','.join(plain)}")
    return 0


def _down(args: argparse.Namespace) -> int:
    stopped = _kafka().down(wipe=args.wipe)
    print(f"stopped {len(stopped)} Kafka node(s)" if stopped else "Kafka was not running")
    return 0


def _status(_args: argparse.Namespace) -> int:
    from parklink.kafkalocal.runner import iter_lines

    statuses = _kafka().status()
    for line in iter_lines(statuses):
        print(line)
    return 0 if any(s.running for s in statuses) else 1
