"""`parklink simulate`: plays the alliance's parks and corridors."""

from __future__ import annotations

import argparse
from typing import Any

SCENARIO_NAMES = ("border-jam", "capacity-outage", "demand-surge", "park-offline")
"""The names of `scenarios.SCENARIOS`, spelled out so that `--help` needs no event models
(tests/unit/cli holds the two equal)."""


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser(
        "simulate",
        help="play the alliance's parks and corridors, with injected disruptions",
        description="Publishes orders, shipments and weekly capacity of 8 alliance parks "
        "through the gateway (PARKLINK_GATEWAY_URL, one token per park) or with the SDK "
        f"(--direct). Scenarios: {', '.join(SCENARIO_NAMES)}; "
        "inject one on demand with POST http://127.0.0.1:6068/v1/scenarios/NAME and an alliance "
        "operator's bearer token. "
        "Stops cleanly on Ctrl-C / SIGTERM after publishing what is queued.",
    )
    add_arguments(sim)
    sim.set_defaults(handler=_run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `parklink simulate`, also those of `python -m parklink.simulator`."""
    parser.add_argument(
        "--scenario",
        action="append",
        default=[],
        metavar="NAME[@START[/EVERY]]",
        help=f"inject a disruption ({', '.join(SCENARIO_NAMES)}), START seconds after the start "
        "(default 0), again every EVERY seconds; repeatable",
    )
    parser.add_argument("--rate", type=float, help="events per second (default 20)")
    parser.add_argument(
        "--speed", type=float, help="simulated seconds per wall-clock second (default 600)"
    )
    parser.add_argument("--seed", type=int, help="same seed, same world (default: random)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--max-events",
        type=int,
        metavar="N",
        help="generate N events, then stop once every one of them is published",
    )
    parser.add_argument(
        "--record",
        metavar="FILE",
        help='append each acknowledged event to FILE as a JSON line {"kind", "event"}',
    )
    parser.add_argument(
        "--direct", action="store_true", help="publish with the SDK to Kafka, not the gateway"
    )
    parser.add_argument(
        "--time-origin",
        metavar="ISO",
        help="with --direct, for benchmarks: run the simulated clock at --speed from this wall "
        "moment on and stamp events with it, like a detector given the same "
        "PARKLINK_DETECTOR_TIME_ORIGIN and PARKLINK_DETECTOR_TIME_SPEED",
    )
    parser.add_argument("--gateway", metavar="URL", help="gateway URL (PARKLINK_GATEWAY_URL)")
    parser.add_argument(
        "--tokens", metavar="FILE", help='JSON {"parks": {ID: TOKEN}} (default: issue them)'
    )
    parser.add_argument(
        "--offline-seconds", type=float, help="how long park-offline keeps a park silent"
    )
    parser.add_argument("--port", type=int, help="status/metrics port (0 = none; default 6068)")


def _run(args: argparse.Namespace) -> int:
    from parklink.simulator.app import simulate

    return simulate(args)
