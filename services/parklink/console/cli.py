"""`parklink console`."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    console = subparsers.add_parser(
        "console",
        help="run the operator console (alerts API, web page, webhooks) in the foreground",
        description="Reads the alerts topic into a database (SQLite in PARKLINK_STATE_DIR, or "
        "PARKLINK_DATABASE_URL), serves the web page, the alerts API and Server-Sent Events on "
        "PARKLINK_CONSOLE_HOST:PARKLINK_CONSOLE_PORT (default 127.0.0.1:8088) and delivers "
        "webhooks. Every caller needs a token: `parklink token issue --operator NAME` (every "
        "alert), `--park-operator PARK NAME` (one park's alerts) or `--viewer NAME` (read "
        "only). Webhook targets must be https with public addresses, except hosts listed in "
        "PARKLINK_WEBHOOK_ALLOWED_TARGETS.",
    )
    console.set_defaults(handler=_run)


def _run(_args: argparse.Namespace) -> int:
    from parklink.console.app import serve
    from parklink.console.config import ConsoleSettings
    from parklink.eventkit import service

    return service.run(ConsoleSettings, serve)
