"""Wires the simulator: settings and flags, the world with its scheduled scenarios, the sink
(gateway or SDK), the runner, and a small web app for readiness, metrics, status and
on-demand scenarios (`POST /v1/scenarios/{name}`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from parklink.eventkit import service
from parklink.eventkit.bounds import TimeBounds
from parklink.eventkit.clock import ScaledClock
from parklink.eventkit.contracts import now_utc
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.metrics import new_registry
from parklink.eventkit.tokens import Role, TokenError, TokenStore
from parklink.eventkit.web import (
    ApiError,
    error_doc,
    install_error_handlers,
    install_http_metrics,
    ops_router,
)
from parklink.simulator import credentials
from parklink.simulator.cli import add_arguments
from parklink.simulator.config import SimulatorSettings
from parklink.simulator.geography import PARKS
from parklink.simulator.runner import Runner, Stats
from parklink.simulator.scenarios import SCENARIOS, ScenarioOptions, parse_spec, schedule
from parklink.simulator.sinks import DirectSink, GatewaySink, RecordingSink, Sink
from parklink.simulator.world import World, WorldConfig

log = logging.getLogger(__name__)


def overrides_from(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the flags override."""
    overrides: dict[str, Any] = {
        "simulator_rate": args.rate,
        "simulator_speed": args.speed,
        "simulator_seed": args.seed,
        "gateway_url": args.gateway,
        "simulator_tokens_file": args.tokens,
        "simulator_offline_s": args.offline_seconds,
        "simulator_port": args.port,
        "simulator_max_events": args.max_events,
        "simulator_record": args.record,
        "simulator_time_origin": args.time_origin,
    }
    if args.direct:
        overrides["simulator_direct"] = True
    if args.scenario:
        overrides["simulator_scenarios"] = " ".join(args.scenario)
    return {k: v for k, v in overrides.items() if v is not None}


def build_sink(settings: SimulatorSettings) -> Sink:
    sink = _publishing_sink(settings)
    if settings.simulator_record is not None:
        return RecordingSink(sink, settings.simulator_record)
    return sink


def simulated_clock(settings: SimulatorSettings) -> ScaledClock | None:
    """The clock events are stamped with when the simulated time is the network's time
    (`--time-origin`): the one a detector sped up the same way runs (eventkit/clock.py)."""
    origin = settings.simulator_time_origin
    if origin is None:
        return None
    if not settings.simulator_direct:
        raise ParkLinkError(
            "--time-origin (PARKLINK_SIMULATOR_TIME_ORIGIN) needs --direct: the gateway judges "
            "event times by the real clock"
        )
    try:
        return ScaledClock.sped_up(settings.simulator_speed, origin)
    except ValueError as exc:
        raise ParkLinkError(f"--time-origin: {exc}") from exc


def _moment(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _publishing_sink(settings: SimulatorSettings) -> Sink:
    if settings.simulator_direct:
        clock = simulated_clock(settings)
        return DirectSink(
            settings.bootstrap_servers,
            settings.registry_url,
            settings.topic_prefix,
            TimeBounds.from_settings(settings),
            clock=None if clock is None else lambda: _moment(clock.now()),
        )
    parks = [p.park_id for p in PARKS]
    if settings.simulator_tokens_file is not None:
        tokens = credentials.load(settings.simulator_tokens_file)
        missing = [p for p in parks if p not in tokens.parks]
        if missing:
            raise ParkLinkError(f"{settings.simulator_tokens_file} has no token for {missing}")
    else:
        tokens = credentials.ensure(settings.state_dir, settings.tokens_file, parks)
    return GatewaySink(settings.gateway_url, tokens.parks)


CONTROL_HELP = (
    "An alliance operator's token (`parklink token issue --operator NAME`; `parklink up` "
    "keeps one in <state dir>/demo-tokens.json)."
)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
"""The content types a page of another site may POST without asking (no CORS preflight)."""
CONTROL_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: error_doc("No, unknown, expired or revoked bearer token."),
    403: error_doc("The token is not an alliance operator's."),
    415: error_doc("A form body: the control endpoints take no body."),
}

Credentials = Annotated[
    HTTPAuthorizationCredentials | None,
    Depends(HTTPBearer(auto_error=False, description=CONTROL_HELP)),
]


def operator_guard(tokens: TokenStore) -> Any:
    """A dependency that lets only an alliance operator's bearer token through. A browser
    sends no Authorization header with a cross-site form, and a form body is refused too."""

    def guard(request: Request, creds: Credentials) -> str:
        try:
            principal = tokens.verify(creds.credentials if creds else None)
        except TokenError as exc:
            raise ApiError(
                401,
                "unauthorized",
                f"{exc}: send `Authorization: Bearer <operator token>`",
                headers={"WWW-Authenticate": "Bearer"},
            ) from exc
        if principal.role is not Role.OPERATOR:
            raise ApiError(403, "forbidden", "only an alliance operator may control the simulator")
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind in FORM_TYPES:
            raise ApiError(415, "unsupported_media_type", "this endpoint takes no form body")
        return principal.name

    return guard


def create_web(
    runner: Runner,
    sink: Sink,
    registry: Any,
    tokens: TokenStore,
    metrics_token: SecretStr | None = None,
) -> FastAPI:
    """Status and metrics; the control endpoints (state-changing) need an operator token."""
    app = FastAPI(title="ParkLink simulator", docs_url=None, redoc_url=None)
    install_error_handlers(app)
    install_http_metrics(app, registry, "simulator")
    operator = Depends(operator_guard(tokens))

    async def ready() -> dict[str, str]:
        problems = await sink.problems()
        if not runner.started:
            problems["runner"] = "not started"
        return problems

    app.include_router(ops_router(registry, ready, metrics_token))

    @app.get("/v1/status", summary="What the simulator has published and injected")
    async def status() -> dict[str, Any]:
        now = runner.clock()
        return {
            "rate": runner.rate,
            "generated": runner.stats.generated,
            "published": runner.stats.published,
            "refused": runner.stats.refused,
            "retries": runner.stats.retries,
            "backlog": runner.backlog,
            "lag_seconds": round(runner.lag(now), 3),
            "keeping_up": not runner.behind(now),
            "fell_behind": runner.stats.fell_behind,
            "max_lag_seconds": round(runner.stats.max_lag, 3),
            "simulated_time": runner.world.now.isoformat(),
            "injections": [_injection(i) for i in runner.world.injections],
        }

    @app.post(
        "/v1/scenarios/{name}",
        status_code=201,
        summary="Inject a scenario now",
        responses=CONTROL_REFUSALS,
    )
    async def inject(name: str, by: str = operator) -> Any:
        if name not in SCENARIOS:
            raise ApiError(404, "unknown_scenario", f"no scenario {name!r}", sorted(SCENARIOS))
        injection = runner.trigger(name)
        log.info("%s injected scenario %s", by, name)
        return JSONResponse(_injection(injection), status_code=201)

    return app


def _injection(injection: Any) -> dict[str, Any]:
    doc = asdict(injection)
    for key in ("at", "until"):
        if doc[key] is not None:
            doc[key] = doc[key].isoformat()
    doc["expected_alerts"] = [str(a) for a in doc["expected_alerts"]]
    return doc


async def run(settings: SimulatorSettings, duration_s: float | None = None) -> Stats:
    seed = settings.simulator_seed
    if seed is None:
        seed = secrets.randbelow(2**31)
    clock = simulated_clock(settings)
    world = World(
        WorldConfig(
            seed=seed,
            start=now_utc() if clock is None else _moment(clock.now()),
            speed=settings.simulator_speed,
            rate=settings.simulator_rate,
            run_id=uuid.uuid4(),
            simulated_event_time=clock is not None,
        )
    )
    options = ScenarioOptions(offline_s=settings.simulator_offline_s)
    for text in settings.scenario_texts():
        schedule(world, parse_spec(text), options)
    sink = build_sink(settings)
    registry = new_registry("simulator")
    runner = Runner(
        world,
        sink,
        rate=settings.simulator_rate,
        options=options,
        registry=registry,
        max_batch=settings.simulator_max_batch,
        report_s=settings.simulator_report_s,
        lag_warn_s=settings.simulator_lag_warn_s,
        max_events=settings.simulator_max_events,
        drain_timeout_s=settings.simulator_drain_s,
    )
    log.info(
        "simulating %d parks at %g events/s, speed x%g, seed %d, scenarios: %s; publishing %s",
        len(PARKS),
        settings.simulator_rate,
        settings.simulator_speed,
        seed,
        ", ".join(settings.scenario_texts()) or "none",
        "with the SDK to Kafka" if settings.simulator_direct else f"to {settings.gateway_url}",
    )
    with service.stop_event() as stop:
        web: asyncio.Task[None] | None = None
        tokens: TokenStore | None = None
        if settings.simulator_port:
            tokens = TokenStore.from_settings(settings)
            app = create_web(runner, sink, registry, tokens, settings.metrics_secret())
            web = asyncio.create_task(
                service.serve_until(app, settings.simulator_host, settings.simulator_port, stop)
            )
        try:
            return await runner.run(stop, duration_s)
        finally:
            stop.set()
            if web is not None:
                await asyncio.gather(web, return_exceptions=True)
            if tokens is not None:
                tokens.close()
            await sink.aclose()


def summary(stats: Stats, rate: float, lag_warn_s: float) -> list[str]:
    """The lines `parklink simulate` ends with: what became of the generated events, and
    whether the rate was sustained."""
    lines = [
        f"generated {stats.generated} events: published {stats.published}, "
        f"refused {stats.refused}, not published {stats.unpublished}; "
        f"{stats.retries} retries after backpressure"
    ]
    if stats.fell_behind:
        lines.append(
            f"fell behind --rate {rate:g}: events waited up to {stats.max_lag:.1f}s "
            f"(more than {lag_warn_s:g}s) to be published"
        )
    return lines


def simulate(args: argparse.Namespace) -> int:
    """`parklink simulate`: run, then say what became of the events."""

    def body(settings: SimulatorSettings) -> int:
        stats = asyncio.run(run(settings, args.duration))
        for line in summary(stats, settings.simulator_rate, settings.simulator_lag_warn_s):
            print(line)
        return 1 if stats.refused or stats.unpublished else 0

    return service.run(SimulatorSettings, body, **overrides_from(args))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m parklink.simulator")
    add_arguments(parser)
    args = parser.parse_args(argv)

    def body(settings: SimulatorSettings) -> None:
        asyncio.run(run(settings, args.duration))

    service.main(SimulatorSettings, body, **overrides_from(args))
