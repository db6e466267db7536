"""`parklink simulate`: plays the alliance's parks and corridors."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    from parklink.simulator.app import add_arguments

    sim = subparsers.add_parser(
        "simulate",
        help="play the alliance's parks and corridors, with injected disruptions",
        description="Publishes orders, shipments and weekly capacity of 8 alliance parks "
        "through the gateway (PARKLINK_GATEWAY_URL, one token per park) or with the SDK "
        "(--direct). Scenarios: border-jam, capacity-outage, demand-surge, park-offline; "
        "inject one on demand with POST http://127.0.0.1:6068/v1/scenarios/NAME and an alliance "
        "operator's bearer token. "
        "Stops cleanly on Ctrl-C / SIGTERM after publishing what is queued.",
    )
    add_arguments(sim)
    sim.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from parklink.simulator.app import simulate

    return simulate(args)
