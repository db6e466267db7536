"""`parklink gateway`: the HTTP ingest in the foreground."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    gw = subparsers.add_parser(
        "gateway",
        help="run the HTTP gateway for parks in the foreground",
        description="POST /v1/events/{orders|shipments|capacity} into Kafka, on "
        "PARKLINK_GATEWAY_HOST:PARKLINK_GATEWAY_PORT (127.0.0.1:8000). Limits: "
        "PARKLINK_GATEWAY_MAX_BODY_BYTES, _MAX_BATCH, _RATE_PER_S, _RATE_BURST, "
        "_PRODUCE_TIMEOUT_S, _GRACEFUL_S. Stops cleanly on Ctrl-C / SIGTERM.",
    )
    gw.set_defaults(handler=_run)


def _run(_args: argparse.Namespace) -> int:
    from parklink.eventkit import service
    from parklink.gateway.app import serve
    from parklink.gateway.config import GatewaySettings

    return service.run(GatewaySettings, serve)
