"""`parklink publish --kind K FILE.jsonl`: publish a park's events from a JSON-lines file,
straight to Kafka through the SDK (default) or through the HTTP gateway. The flags are here and
the work in `parklink.publisher.cli`: importing anything under `parklink.publisher` loads the
SDK, which the parser of every `parklink` call must not."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

KINDS = ("orders", "shipments", "capacity")
"""The event kinds of `eventkit.validation.KINDS`, spelled out so that `--help` needs no event
models (tests/unit/cli holds the two equal)."""
CHUNK = 500
RETRIES = 8


def register(subparsers: Any) -> None:
    pub = subparsers.add_parser(
        "publish",
        help="publish events from a JSON-lines file, with progress",
        description="Publishes one event per line of FILE (JSON objects of the given kind): "
        "directly to Kafka through the publisher SDK (the default; needs --park and uses "
        "PARKLINK_KAFKA_BOOTSTRAP, PARKLINK_REGISTRY_URL, PARKLINK_TOPIC_PREFIX), or through "
        "the HTTP gateway with --gateway URL --token T. A bad line is reported with its number "
        "and the good ones still go; the exit code is 1 if any line was rejected.",
    )
    pub.add_argument("--kind", required=True, choices=KINDS)
    pub.add_argument("file", type=Path, metavar="FILE.jsonl")
    pub.add_argument("--park", metavar="ID", help="the publishing park (direct mode)")
    mode = pub.add_mutually_exclusive_group()
    mode.add_argument("--direct", action="store_true", help="straight to Kafka (the default)")
    mode.add_argument("--gateway", metavar="URL", help="through the gateway at URL")
    pub.add_argument("--token", metavar="T", help="park token (with --gateway)")
    pub.add_argument(
        "--batch", type=int, default=CHUNK, metavar="N", help=f"events per batch ({CHUNK})"
    )
    pub.add_argument(
        "--retries",
        type=int,
        default=RETRIES,
        metavar="N",
        help=f"with --gateway: attempts after a 429/503 or no answer, per batch ({RETRIES})",
    )
    pub.set_defaults(handler=_publish)


def _publish(args: argparse.Namespace) -> int:
    from parklink.publisher.cli import publish

    return publish(args)
