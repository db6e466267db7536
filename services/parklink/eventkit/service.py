"""One way to run a ParkLink service: settings from the environment (one clear line and exit
code 2 when one is bad), logging as the settings say, errors as one line (exit code 1), and a
graceful stop on SIGTERM/SIGINT. FastAPI apps are served by `serve` (uvicorn: stop accepting,
let requests in flight finish, run the app's lifespan shutdown that flushes and closes its
clients); asyncio programs that serve an app next to other work use `serve_until` with
`stop_event`.

A service's `__main__.py` calls its `main()`, which is one line:

    def main() -> None:
        service.main(GatewaySettings, lambda s: service.serve(build(s), s.gateway_host,
                                                              s.gateway_port))
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any, NoReturn, TypeVar

import uvicorn
from pydantic_settings import BaseSettings

from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.logs import configure_logging
from parklink.eventkit.settings import load_settings

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseSettings)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run(settings_cls: type[S], body: Callable[[S], int | None], **overrides: Any) -> int:
    """Load `settings_cls` (with `overrides`, e.g. from flags), set up logging, run `body`;
    returns the exit code: body's, 2 for a bad setting, 1 for a ParkLinkError, 130 for
    Ctrl-C."""
    try:
        settings = load_settings(settings_cls, **overrides)
    except ParkLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(
        getattr(settings, "log_level", "INFO"), getattr(settings, "log_format", "text")
    )
    try:
        return body(settings) or 0
    except ParkLinkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def main(settings_cls: type[S], body: Callable[[S], int | None], **overrides: Any) -> NoReturn:
    """`run`, then exit with its code (what a `__main__` calls)."""
    sys.exit(run(settings_cls, body, **overrides))


def _config(app: Any, host: str, port: int, graceful_s: float) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=int(graceful_s),
    )


def serve(app: Any, host: str, port: int, *, graceful_s: float = 30.0) -> None:
    """Serve `app` in the foreground until SIGTERM/SIGINT; requests in flight get up to
    `graceful_s` seconds, then the app's lifespan shutdown runs."""
    log.info("serving on http://%s:%d", host, port)
    uvicorn.Server(_config(app, host, port, graceful_s)).run()


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server inside a program that handles the signals itself."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


async def serve_until(
    app: Any, host: str, port: int, stop: asyncio.Event, *, graceful_s: float = 5.0
) -> None:
    """Serve `app` until `stop` is set (the program's own signal handling sets it)."""
    server = _EmbeddedServer(_config(app, host, port, graceful_s))
    task = asyncio.create_task(server.serve())
    waiter = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        waiter.cancel()
        await asyncio.gather(task, waiter, return_exceptions=True)


@contextlib.contextmanager
def stop_event() -> Iterator[asyncio.Event]:
    """An event set by SIGTERM/SIGINT while the block runs (inside a running event loop)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        yield stop
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
