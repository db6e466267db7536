"""`parklink park add|remove`: admit a park to Kafka with its own principal, or take it out."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from parklink.eventkit.settings import Settings


def register(subparsers: Any) -> None:
    park = subparsers.add_parser(
        "park",
        help="admit a park to Kafka (its credential and ACLs) or remove it",
        description="A park that writes straight to Kafka logs in as User:park-<ID> "
        "(SASL/SCRAM) and may write only its ingress topics <prefix>ingress.<ID>.*, which the "
        "relay checks and passes on; it reads the park topics and the alerts. Runs as "
        "PARKLINK_KAFKA_USER (admin by default). See docs/security.md.",
    )
    sub = park.add_subparsers(dest="park_command", metavar="ACTION", required=True)
    add = sub.add_parser(
        "add",
        help="create the park's credential, ingress topics and ACLs",
        description="Writes the new password to <secrets>/users/park-<ID>.password (0600) and "
        "prints where; a second `add` replaces the password.",
    )
    add.add_argument("park_id", metavar="ID", help="park id, like CN-QD-SCODA")
    add.add_argument("--show", action="store_true", help="also print the password, once, on stdout")
    add.set_defaults(handler=_add)
    remove = sub.add_parser("remove", help="delete the park's credential and every ACL of it")
    remove.add_argument("park_id", metavar="ID", help="park id, like CN-QD-SCODA")
    remove.set_defaults(handler=_remove)


def _secrets(settings: Settings) -> Path:
    from parklink.eventkit import credentials

    return settings.kafka_secrets_dir or credentials.kafka_secrets_dir(settings.state_dir)


def _add(args: argparse.Namespace) -> int:
    from parklink.eventkit import access, credentials
    from parklink.eventkit.bus import admin
    from parklink.eventkit.catalog import load_catalog
    from parklink.eventkit.settings import Settings, load_settings

    settings = load_settings(Settings)
    user = access.park_principal(args.park_id)
    password = credentials.new_password()
    client = admin(settings.bootstrap_servers)
    try:
        names = access.Names(prefix=settings.topic_prefix)
        topics = access.admit_park(client, load_catalog(), names, args.park_id, password)
    finally:
        client.close()
    path = credentials.kafka_password_file(_secrets(settings), user)
    credentials.write_secret(path, password)
    print(f"admitted {args.park_id} as Kafka user {user}")
    print(f"password: {path} (0600)" + (f"\n{password}" if args.show else ""))
    print(f"it writes to: {', '.join(topics)}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from parklink.eventkit import access, credentials
    from parklink.eventkit.bus import admin
    from parklink.eventkit.settings import Settings, load_settings

    settings = load_settings(Settings)
    user = access.park_principal(args.park_id)
    client = admin(settings.bootstrap_servers)
    try:
        deleted = access.expel_park(client, args.park_id)
    finally:
        client.close()
    credentials.kafka_password_file(_secrets(settings), user).unlink(missing_ok=True)
    print(f"removed {user}: its credential and {deleted} ACL(s)")
    return 0
