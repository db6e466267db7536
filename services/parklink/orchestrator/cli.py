"""`parklink up` and `parklink down`."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="the whole network on this machine (what `make run` does)",
        description="Starts Kafka (or uses PARKLINK_KAFKA_BOOTSTRAP), applies the topics, "
        "starts the registry and registers the schemas, issues the demo's tokens, then the "
        "gateway, detector, console and simulator, each waited for until ready. Logs go to "
        "<PARKLINK_STATE_DIR>/logs/. Ctrl-C stops everything; --detach returns instead.",
    )
    add_up_arguments(up)
    up.set_defaults(handler=_up)
    down = subparsers.add_parser(
        "down",
        help="stop a network started with `parklink up --detach` (and its Kafka)",
        description="Stops the parts recorded in <PARKLINK_STATE_DIR>/run.json in reverse "
        "order, then the local Kafka if `parklink up` started it.",
    )
    down.set_defaults(handler=_down)


def add_up_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags of `parklink up`, also those of `python -m parklink.orchestrator`."""
    parser.add_argument(
        "--no-simulator", action="store_true", help="no simulated parks (for real parks)"
    )
    parser.add_argument(
        "--detach", action="store_true", help="return once everything is ready (`parklink down`)"
    )


def _up(args: argparse.Namespace) -> int:
    from parklink.eventkit import service
    from parklink.orchestrator.app import up
    from parklink.orchestrator.config import OrchestratorSettings

    return service.run(OrchestratorSettings, lambda settings: up(args, settings))


def _down(_args: argparse.Namespace) -> int:
    from parklink.eventkit import service
    from parklink.orchestrator.app import down
    from parklink.orchestrator.config import OrchestratorSettings

    return service.run(OrchestratorSettings, down)
