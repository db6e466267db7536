"""The console's API, one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from parklink.console.routes import alerts, me, silences, webhooks
from parklink.console.runtime import Runtime


def routers(runtime: Runtime) -> list[APIRouter]:
    return [
        alerts.router(runtime),
        silences.router(runtime),
        webhooks.router(runtime),
        me.router(runtime),
    ]
