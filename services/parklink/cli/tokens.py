"""`parklink token issue|revoke|list`: bearer tokens of parks (gateway) and operators (console),
kept as salted hashes in PARKLINK_STATE_DIR/tokens.db."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from typing import Any

from parklink.eventkit.contracts import PARK_ID_PATTERN
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings, load_settings
from parklink.eventkit.tokens import Role, TokenStore


def register(subparsers: Any) -> None:
    token = subparsers.add_parser(
        "token",
        help="issue, revoke and list park and operator tokens",
        description="Bearer tokens for parks (the gateway) and operators (the console). A token "
        "is printed once when issued; only a salted hash is kept in "
        "PARKLINK_STATE_DIR/tokens.db.",
    )
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    issue = sub.add_parser("issue", help="print a new token (it cannot be shown again)")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--park", metavar="ID", help="park id, e.g. CN-QD-SCODA")
    who.add_argument("--operator", metavar="NAME", help="operator name")
    issue.set_defaults(handler=_issue)
    revoke = sub.add_parser("revoke", help="revoke a token by its id (see `token list`)")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=_revoke)
    listing = sub.add_parser("list", help="list tokens (ids, owners, state; never secrets)")
    listing.set_defaults(handler=_list)


def _store() -> TokenStore:
    return TokenStore.in_state_dir(load_settings(Settings).state_dir)


def _issue(args: argparse.Namespace) -> int:
    if args.park is not None:
        if not re.fullmatch(PARK_ID_PATTERN, args.park):
            raise ParkLinkError(f"{args.park!r} is not a park id (like CN-QD-SCODA)")
        role, name = Role.PARK, args.park
    else:
        if not args.operator.strip():
            raise ParkLinkError("the operator name must not be empty")
        role, name = Role.OPERATOR, args.operator.strip()
    store = _store()
    try:
        secret = store.issue(role, name)
    finally:
        store.close()
    print(secret)
    print(f"issued a {role.value} token for {name}; keep it: it is not stored", file=sys.stderr)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    store = _store()
    try:
        known = {t.token_id: t for t in store.list()}
        if args.token_id not in known:
            raise ParkLinkError(f"no token with id {args.token_id!r} (see `parklink token list`)")
        if not store.revoke(args.token_id):
            print(f"token {args.token_id} was already revoked")
            return 0
    finally:
        store.close()
    info = known[args.token_id]
    print(f"revoked token {args.token_id} ({info.role.value} {info.name})")
    return 0


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _list(_args: argparse.Namespace) -> int:
    store = _store()
    try:
        infos = store.list()
    finally:
        store.close()
    if not infos:
        print("no tokens; issue one with `parklink token issue --park ID`")
        return 0
    rows = [("ID", "ROLE", "NAME", "CREATED", "REVOKED")] + [
        (t.token_id, t.role.value, t.name, _when(t.created_at), _when(t.revoked_at)) for t in infos
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
