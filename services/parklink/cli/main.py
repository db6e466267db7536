"""`parklink` — the one command-line entry point. Each subcommand lives with the package it
drives and registers itself through a `register(subparsers)` function.

Every call of `parklink`, even `--version`, builds the whole parser, so a command module
imports at its top only what `register()` needs: argparse, the standard library, its own
constants. Each handler imports what does the work in its own body (a command with much work
keeps it in a module of its own), and only the command that runs pays for a web stack, a
Kafka client or the database layer. tests/unit/cli/test_main.py holds this."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.logs import configure_logging

# Modules that contribute subcommands, in the order `--help` lists them.
COMMAND_MODULES = (
    "parklink.kafkalocal.cli",
    "parklink.cli.topics",
    "parklink.console.cli",
    "parklink.registry.cli",
    "parklink.gateway.cli",
    "parklink.relay.cli",
    "parklink.detector.cli",
    "parklink.cli.tokens",
    "parklink.cli.parks",
    "parklink.cli.publish",
    "parklink.cli.subscribe",
    "parklink.cli.dlq",
    "parklink.simulator.cli",
    "parklink.orchestrator.cli",
)

log = logging.getLogger("parklink")


class _Version(argparse.Action):
    """`--version`, read from the installed metadata only when asked for: importing
    importlib.metadata and finding the distribution costs as much as the rest of the parser."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings,
            dest,
            nargs=0,
            default=argparse.SUPPRESS,
            help="show program's version number and exit",
            **kwargs,
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from importlib.metadata import version

        print(f"{parser.prog} {version('parklink')}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parklink",
        description="ParkLink: the supply-chain event network of an alliance of industrial parks.",
        epilog="Settings come from PARKLINK_* environment variables (see README).",
    )
    parser.add_argument("--log-level", default=None, help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument("--version", action=_Version)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        sys.exit(2)
    configure_logging(args.log_level or "INFO")
    try:
        code = args.handler(args)
    except ParkLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
    sys.exit(code or 0)
