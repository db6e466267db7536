"""`parklink token issue|revoke|list`: bearer tokens of parks (gateway), operators, park
operators and viewers (console), kept as salted hashes in PARKLINK_STATE_DIR/tokens.db or in
the database of PARKLINK_TOKENS_DATABASE_URL."""

from __future__ import annotations

import argparse
import getpass
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from parklink.eventkit.errors import ParkLinkError

if TYPE_CHECKING:
    from parklink.eventkit.tokens import TokenStore


def register(subparsers: Any) -> None:
    token = subparsers.add_parser(
        "token",
        help="issue, revoke and list park, operator and viewer tokens",
        description="Bearer tokens for parks (the gateway) and for the console: alliance "
        "operators (every alert), park operators (one park's alerts) and viewers (read only). "
        "A token is printed once when issued; only a salted hash is kept in "
        "PARKLINK_STATE_DIR/tokens.db (or PARKLINK_TOKENS_DATABASE_URL's database). "
        "Tokens expire (default 90 days) unless issued with "
        "`--ttl never`.",
    )
    sub = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    issue = sub.add_parser("issue", help="print a new token (it cannot be shown again)")
    who = issue.add_mutually_exclusive_group(required=True)
    who.add_argument("--park", metavar="ID", help="park id, e.g. CN-QD-SCODA")
    who.add_argument("--operator", metavar="NAME", help="alliance operator: every alert")
    who.add_argument(
        "--park-operator",
        nargs=2,
        metavar=("PARK", "NAME"),
        help="operator of one park: sees, acknowledges and silences only alerts naming PARK",
    )
    who.add_argument("--viewer", metavar="NAME", help="reads alerts and silences only")
    issue.add_argument(
        "--ttl",
        default=None,
        metavar="DURATION",
        help="lifetime such as 90d, 12h, 30m, or `never` (for service tokens); default 90d",
    )
    issue.set_defaults(handler=_issue)
    revoke = sub.add_parser("revoke", help="revoke a token by its id (see `token list`)")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=_revoke)
    listing = sub.add_parser(
        "list", help="list tokens (ids, owners, expiry, last use, state; never secrets)"
    )
    listing.set_defaults(handler=_list)


def _store() -> TokenStore:
    from parklink.eventkit.settings import Settings, load_settings
    from parklink.eventkit.tokens import TokenStore

    return TokenStore.from_settings(load_settings(Settings))


TTL_UNITS = {"d": "days", "h": "hours", "m": "minutes"}


def parse_ttl(text: str | None) -> timedelta | None:
    """`90d`, `12h`, `30m` or `never` (None: no expiry); no value means the default."""
    from parklink.eventkit.tokens import DEFAULT_TTL

    if text is None:
        return DEFAULT_TTL
    if text.strip().lower() == "never":
        return None
    match = re.fullmatch(r"\s*([1-9][0-9]{0,5})\s*([dhm])\s*", text.lower())
    if match is None:
        raise ParkLinkError(f"--ttl {text!r}: give a number with d, h or m (e.g. 90d), or never")
    return timedelta(**{TTL_UNITS[match[2]]: int(match[1])})


def _actor() -> str:
    try:
        return "cli:" + getpass.getuser()
    except (KeyError, OSError):
        return "cli"


def _person(name: str, what: str) -> str:
    name = name.strip()
    if not name or len(name) > 200 or not name.isprintable():
        raise ParkLinkError(f"the {what} name must be 1-200 printable characters")
    return name


def _park(park_id: str) -> str:
    from parklink.eventkit.contracts import PARK_ID_PATTERN

    if not re.fullmatch(PARK_ID_PATTERN, park_id):
        raise ParkLinkError(f"{park_id!r} is not a park id (like CN-QD-SCODA)")
    return park_id


def _issue(args: argparse.Namespace) -> int:
    from parklink.eventkit.tokens import Role

    park: str | None = None
    if args.park is not None:
        role, name = Role.PARK, _park(args.park)
    elif args.park_operator is not None:
        role, park = Role.PARK_OPERATOR, _park(args.park_operator[0])
        name = _person(args.park_operator[1], "park operator")
    elif args.viewer is not None:
        role, name = Role.VIEWER, _person(args.viewer, "viewer")
    else:
        role, name = Role.OPERATOR, _person(args.operator, "operator")
    ttl = parse_ttl(args.ttl)
    store = _store()
    try:
        secret = store.issue(role, name, park=park, ttl=ttl, by=_actor())
    finally:
        store.close()
    print(secret)
    scope = f" of {park}" if park else ""
    until = "never expires" if ttl is None else f"expires {_when(time_after(ttl))}"
    print(
        f"issued a {role.value} token for {name}{scope} ({until}); keep it: it is not stored",
        file=sys.stderr,
    )
    return 0


def time_after(ttl: timedelta) -> float:
    return (datetime.now(UTC) + ttl).timestamp()


def _revoke(args: argparse.Namespace) -> int:
    store = _store()
    try:
        known = {t.token_id: t for t in store.list()}
        if args.token_id not in known:
            raise ParkLinkError(f"no token with id {args.token_id!r} (see `parklink token list`)")
        if not store.revoke(args.token_id, by=_actor()):
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
    header = ("ID", "ROLE", "NAME", "PARK", "CREATED", "EXPIRES", "LAST USED", "REVOKED")
    rows = [header] + [
        (
            t.token_id,
            t.role.value,
            t.name,
            t.park or "-",
            _when(t.created_at),
            "never" if t.expires_at is None else _when(t.expires_at),
            _when(t.last_used_at),
            _when(t.revoked_at),
        )
        for t in infos
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return 0
