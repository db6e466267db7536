"""`parklink topics apply|list`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from parklink.eventkit.catalog import CATALOG_PATH


def register(subparsers: Any) -> None:
    topics = subparsers.add_parser(
        "topics",
        help="create or update the catalog's topics",
        description="The topic catalog (schemas/topics.toml) applied to the Kafka cluster at "
        "PARKLINK_KAFKA_BOOTSTRAP, with names prefixed by PARKLINK_TOPIC_PREFIX.",
    )
    sub = topics.add_subparsers(dest="topics_command", metavar="ACTION", required=True)
    apply = sub.add_parser("apply", help="create missing topics, grow partitions, set configs")
    apply.add_argument("--catalog", type=Path, default=CATALOG_PATH, help="catalog TOML file")
    apply.add_argument(
        "--brokers",
        type=int,
        default=0,
        metavar="N",
        help="wait until the cluster shows N brokers before changing anything (a deploy job "
        "runs this so that it never meets half a cluster)",
    )
    apply.add_argument(
        "--wait",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="how long --brokers waits (default: %(default)s)",
    )
    apply.set_defaults(handler=_apply)


def _apply(args: argparse.Namespace) -> int:
    from parklink.eventkit.catalog import load_catalog
    from parklink.eventkit.settings import Settings, load_settings
    from parklink.eventkit.topic_admin import apply_catalog

    settings = load_settings(Settings)
    catalog = load_catalog(args.catalog)
    report = apply_catalog(
        catalog,
        settings.bootstrap_servers,
        settings.topic_prefix,
        brokers=args.brokers,
        wait_s=args.wait,
    )
    for note in report.notes:
        print(f"note: {note}")
    for label, names in (
        ("created", report.created),
        ("added partitions", report.grown),
        ("reconfigured", report.reconfigured),
        ("unchanged", report.unchanged),
    ):
        if names:
            print(f"{label}: {', '.join(names)}")
    return 0
