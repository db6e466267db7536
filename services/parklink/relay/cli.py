"""`parklink relay`: the ingress relay in the foreground."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    relay = subparsers.add_parser(
        "relay",
        help="run the ingress relay in the foreground",
        description="Passes the records parks write to their own ingress topics "
        "(<prefix>ingress.<PARK>.*) on to the shared park topics, only when they speak for "
        "that park (else the dead-letter topic, reason foreign-park). Ops endpoints on "
        "PARKLINK_RELAY_HOST:PARKLINK_RELAY_PORT (127.0.0.1:6070). Stops cleanly on "
        "SIGTERM/Ctrl-C.",
    )
    relay.set_defaults(handler=_run)


def _run(_args: argparse.Namespace) -> int:
    from parklink.eventkit import service
    from parklink.relay.app import serve
    from parklink.relay.config import RelaySettings

    return service.run(RelaySettings, serve)
