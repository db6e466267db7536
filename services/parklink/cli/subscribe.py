"""`parklink subscribe TOPIC`: decoded events of a topic as JSON lines, for integrators and for
looking at what flows."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    sub = subparsers.add_parser(
        "subscribe",
        help="print a topic's decoded events as JSON lines",
        description="Reads TOPIC from PARKLINK_KAFKA_BOOTSTRAP and decodes each value with the "
        "schema registry at PARKLINK_REGISTRY_URL (Confluent wire format). TOPIC is a full "
        "topic name or a catalog role (orders, shipments, capacity, alerts), which gets "
        "PARKLINK_TOPIC_PREFIX. One JSON object per line on stdout; undecodable records are "
        "reported on stderr and skipped. While the registry cannot answer, it waits and "
        "tries again (said once on stderr): no record is skipped for that. With --group, "
        "offsets are committed only for records already printed or skipped.",
    )
    sub.add_argument("topic", metavar="TOPIC")
    sub.add_argument(
        "--from-beginning", action="store_true", help="start at the oldest record, not the end"
    )
    sub.add_argument(
        "--group", metavar="G", help="consume in consumer group G (commits its offsets)"
    )
    sub.add_argument("--max", type=int, metavar="N", help="stop after N records")
    sub.set_defaults(handler=_subscribe)


def _subscribe(args: argparse.Namespace) -> int:
    from parklink.cli.subscription import subscribe

    return subscribe(args)
