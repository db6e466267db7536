"""`parklink registry` (the service in the foreground) and `parklink schemas register`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from parklink.eventkit.catalog import CATALOG_PATH


def register(subparsers: Any) -> None:
    registry = subparsers.add_parser(
        "registry",
        help="run the schema registry in the foreground",
        description="The Confluent-compatible schema registry on PARKLINK_REGISTRY_HOST:"
        "PARKLINK_REGISTRY_PORT (default 127.0.0.1:8081), storing everything in the compacted "
        "topic PARKLINK_REGISTRY_TOPIC (default _schemas). Stops cleanly on SIGTERM/Ctrl-C.",
    )
    registry.set_defaults(handler=_serve)

    schemas = subparsers.add_parser(
        "schemas",
        help="register schemas/ with the schema registry",
        description="Works with the registry at PARKLINK_REGISTRY_URL (ParkLink's own or any "
        "Confluent-compatible one).",
    )
    sub = schemas.add_subparsers(dest="schemas_command", metavar="ACTION", required=True)
    reg = sub.add_parser(
        "register",
        help="register every record under its topic's subject; fail on an incompatible change",
        description="Registers each record of schemas/*.avsc under the subject "
        "<PARKLINK_TOPIC_PREFIX><topic>-value of the topic that carries it (topic-name "
        "strategy). Stops with the registry's reason when a schema is incompatible. Logs in "
        "as PARKLINK_REGISTRY_USER, by default the `writer` of the state dir's users file.",
    )
    reg.add_argument("--catalog", default=str(CATALOG_PATH), help="topic catalog TOML file")
    reg.set_defaults(handler=_register_schemas)


def _serve(_args: argparse.Namespace) -> int:
    from parklink.eventkit import service
    from parklink.registry.app import serve
    from parklink.registry.config import RegistrySettings

    return service.run(RegistrySettings, serve)


def _register_schemas(args: argparse.Namespace) -> int:
    from parklink.eventkit.catalog import load_catalog
    from parklink.eventkit.registry_client import RegistryClient, registry_credentials
    from parklink.eventkit.schemas import register_schemas
    from parklink.eventkit.settings import Settings, load_settings

    settings = load_settings(Settings)
    catalog = load_catalog(Path(args.catalog))
    auth = registry_credentials(settings, None if settings.registry_user else "writer")
    client = RegistryClient(settings.registry_url, auth=auth)
    try:
        done, skipped = register_schemas(client, catalog, settings.topic_prefix)
    finally:
        client.close()
    for name in skipped:
        print(f"skipped {name}: no topic of the catalog carries it")
    for found in done:
        print(f"{found.subject} → id {found.schema_id}, version {found.version}")
    return 0
