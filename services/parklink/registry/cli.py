"""`parklink registry` (the service in the foreground) and `parklink schemas register`."""

from __future__ import annotations

import argparse
from typing import Any

from parklink.eventkit.catalog import CATALOG_PATH, load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.registry_client import (
    RegistryClient,
    RegistryError,
    registry_credentials,
)
from parklink.eventkit.schemas import schema_names, schema_text
from parklink.eventkit.settings import Settings, load_settings
from parklink.registry.config import RegistrySettings


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


def _serve(args: argparse.Namespace) -> int:
    from parklink.registry.app import serve

    serve(load_settings(RegistrySettings))
    return 0


def _register_schemas(args: argparse.Namespace) -> int:
    from pathlib import Path

    settings = load_settings(Settings)
    catalog = load_catalog(Path(args.catalog))
    carried = {spec.value: spec for spec in catalog.topics.values() if spec.value}
    auth = registry_credentials(settings, None if settings.registry_user else "writer")
    client = RegistryClient(settings.registry_url, auth=auth)
    try:
        for name in schema_names():
            spec = carried.get(name)
            if spec is None:
                print(f"skipped {name}: no topic of the catalog carries it")
                continue
            subject = spec.subject(settings.topic_prefix)
            text = schema_text(name)
            try:
                client.register(subject, text)
                found = client.lookup_version(subject, text)
            except RegistryError as exc:
                if exc.code == 409:
                    raise ParkLinkError(
                        f"{name} is incompatible with what {subject} holds: {exc}"
                    ) from exc
                raise
            print(f"{subject} → id {found['id']}, version {found['version']}")
    finally:
        client.close()
    return 0
