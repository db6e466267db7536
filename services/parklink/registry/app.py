"""Wiring of the registry service: the Confluent Schema Registry REST API over FastAPI, the
Kafka store, metrics and the ops endpoints; `main()` serves it until SIGTERM/SIGINT."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from fastapi import FastAPI, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from parklink.eventkit import credentials, metrics, service
from parklink.eventkit.web import ops_router
from parklink.registry import errors
from parklink.registry.auth import ANONYMOUS, REALM, Caller, Users, forbidden, needed_role
from parklink.registry.compatibility import check_depth
from parklink.registry.config import RegistrySettings
from parklink.registry.errors import ApiError
from parklink.registry.openapi import VERSION_PATTERN, LevelIn, SchemaIn, answers, body_of
from parklink.registry.service import Registry
from parklink.registry.state import RegistryState
from parklink.registry.store import KafkaStore

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
OPS_PATHS = {"/healthz", "/readyz", "/metrics"}
T = TypeVar("T")
Version = Annotated[str, PathParam(json_schema_extra={"pattern": VERSION_PATTERN})]
"""Documented only: the registry answers an invalid version itself (42202)."""
RAW = {
    "description": "The schema itself: its JSON (an object, an array or a string).",
    "content": {CONTENT_TYPE: {"schema": {}}},
}


class RegistryJSON(JSONResponse):
    media_type = CONTENT_TYPE


def _error(status: int, code: int, message: str) -> RegistryJSON:
    return RegistryJSON({"error_code": code, "message": message}, status_code=status)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, 413, f"Request body too large (the limit is {limit} bytes)")


async def _body(request: Request, limit: int) -> Any:
    """The request body as JSON, whatever the content type (Confluent accepts its own, plain
    JSON and octet-stream); read as a stream that stops at `limit` bytes (413), and 422 when
    it is not JSON or nests deeper than any schema may."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    try:
        check_depth(raw.decode())
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(
            422, errors.UNPROCESSABLE, f"Unrecognized request body, not JSON: {exc}"
        ) from exc
    except ValueError as exc:
        raise ApiError(422, errors.INVALID_SCHEMA, f"Invalid schema: {exc}") from exc


def create_app(settings: RegistrySettings, store: KafkaStore | None = None) -> FastAPI:
    state = RegistryState(settings.registry_default_compatibility)
    max_record = 3 * settings.registry_max_schema_bytes + 64 * 1024
    store = store or KafkaStore(
        state,
        settings.bootstrap_servers,
        settings.registry_topic,
        replication_factor=settings.registry_replication_factor,
        write_timeout_s=settings.registry_write_timeout_s,
        max_record_bytes=max_record,
    )
    registry = Registry(state, store, settings.registry_max_schema_bytes)
    body_limit = 2 * settings.registry_max_schema_bytes + 64 * 1024
    users = Users(
        credentials.ensure_registry_users(
            settings.registry_users_file or credentials.registry_users_file(settings.state_dir)
        )
    )

    collectors = metrics.new_registry("registry")
    requests = metrics.counter(
        collectors,
        metrics.REGISTRY_REQUESTS,
        "Registry API requests by route and status.",
        ("route", "status"),
    )
    schemas = metrics.gauge(collectors, metrics.REGISTRY_SCHEMAS, "Schemas (distinct ids) held.")
    schemas.set_function(lambda: len(state.schemas))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        store.start()
        try:
            yield
        finally:
            await run_in_threadpool(store.close)

    app = FastAPI(
        title="ParkLink schema registry",
        description="Confluent Schema Registry REST API, stored in a compacted Kafka topic.",
        default_response_class=RegistryJSON,
        lifespan=lifespan,
    )
    app.state.registry = registry

    async def ready() -> dict[str, str]:
        return {} if store.ready.is_set() else {"kafka": store.problem}

    # The ops endpoints answer plain JSON, as every service's do.
    app.include_router(
        ops_router(collectors, ready, settings.metrics_secret()),
        default_response_class=JSONResponse,
    )

    def admit(request: Request) -> Response | None:
        """None when the caller may go on; else the 401/403 answer."""
        path = request.url.path
        if path in OPS_PATHS:
            return None
        try:
            caller = users.caller(request.headers.get("authorization"))
            request.state.caller = caller
            needed = needed_role(request.method, path)
            if caller is ANONYMOUS and not (
                needed == "reader" and settings.registry_anonymous_read
            ):
                raise ApiError(401, 40101, "Unauthorized: this call needs credentials")
            if caller is not ANONYMOUS and not caller.at_least(needed):
                raise forbidden(caller, f"{request.method} {path} (needs {needed})")
        except ApiError as exc:
            response = _error(exc.status, exc.code, exc.message)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = REALM
            return response
        return None

    @app.middleware("http")
    async def count(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Any:
        refused = admit(request)
        if refused is not None:
            response: Response = refused
        elif not store.ready.is_set() and request.url.path not in OPS_PATHS:
            # Before the replay ends the state is partial: answer nothing rather than wrong.
            response = _error(503, errors.BACKEND_ERROR, f"schema store not ready: {store.problem}")
        else:
            response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        requests.labels(route=path, status=str(response.status_code)).inc()
        return response

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> RegistryJSON:
        response = _error(exc.status, exc.code, exc.message)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = REALM
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> RegistryJSON:
        return _error(422, errors.UNPROCESSABLE, f"Invalid request: {exc.errors()}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> RegistryJSON:
        return _error(exc.status_code, exc.status_code, f"HTTP {exc.status_code} {exc.detail}")

    async def call(fn: Callable[..., T], *args: Any) -> T:
        return await run_in_threadpool(fn, *args)

    # ---- subjects and versions ----

    @app.get("/subjects", responses=answers())
    async def list_subjects(deleted: bool = False) -> list[str]:
        return registry.subjects(deleted)

    @app.get("/subjects/{subject}/versions", responses=answers(404))
    async def list_versions(subject: str, deleted: bool = False) -> list[int]:
        return registry.versions(subject, deleted)

    @app.post(
        "/subjects/{subject}/versions",
        responses=answers(404, 409, 413, 422),
        openapi_extra=body_of(SchemaIn),
    )
    async def register(subject: str, request: Request) -> dict[str, int]:
        body = await _body(request, body_limit)
        caller: Caller = request.state.caller
        if caller.at_least("writer"):
            return await call(registry.register, subject, body)
        # Below writer, "registering" only answers the id of what the subject already holds.
        try:
            return {"id": int(registry.lookup(subject, body)["id"])}
        except ApiError as exc:
            if exc.status != 404:
                raise
        if caller is ANONYMOUS:
            raise ApiError(401, 40101, "Unauthorized: registering a new schema needs a writer")
        raise forbidden(caller, f"registering a new schema under {subject} (needs writer)")

    @app.get("/subjects/{subject}/versions/{version}", responses=answers(404, 422))
    async def get_version(subject: str, version: Version, deleted: bool = False) -> dict[str, Any]:
        return registry.version(subject, version, deleted)

    @app.get(
        "/subjects/{subject}/versions/{version}/schema",
        responses={200: RAW, **answers(404, 422)},
    )
    async def get_raw_schema(subject: str, version: Version, deleted: bool = False) -> Response:
        text = registry.version(subject, version, deleted)["schema"]
        return Response(text, media_type=CONTENT_TYPE)

    @app.delete("/subjects/{subject}/versions/{version}", responses=answers(404, 422))
    async def delete_version(subject: str, version: Version, permanent: bool = False) -> int:
        return await call(registry.delete_version, subject, version, permanent)

    @app.post(
        "/subjects/{subject}", responses=answers(404, 413, 422), openapi_extra=body_of(SchemaIn)
    )
    async def lookup(subject: str, request: Request, deleted: bool = False) -> dict[str, Any]:
        body = await _body(request, body_limit)
        return registry.lookup(subject, body, deleted)

    @app.delete("/subjects/{subject}", responses=answers(404))
    async def delete_subject(subject: str, permanent: bool = False) -> list[int]:
        return await call(registry.delete_subject, subject, permanent)

    # ---- schemas by id ----

    @app.get("/schemas/types", responses=answers())
    async def schema_types() -> list[str]:
        return ["AVRO"]

    @app.get("/schemas/ids/{schema_id}", responses=answers(404))
    async def schema_by_id(schema_id: str) -> dict[str, Any]:
        return registry.schema_by_id(schema_id)

    @app.get(
        "/schemas/ids/{schema_id}/schema",
        responses={200: RAW, **answers(404)},
    )
    async def raw_schema_by_id(schema_id: str) -> Response:
        return Response(registry.schema_by_id(schema_id)["schema"], media_type=CONTENT_TYPE)

    @app.get("/schemas/ids/{schema_id}/versions", responses=answers(404))
    async def schema_versions(schema_id: str, deleted: bool = False) -> list[dict[str, Any]]:
        return registry.id_versions(schema_id, deleted)

    @app.get("/schemas/ids/{schema_id}/subjects", responses=answers(404))
    async def schema_subjects(schema_id: str, deleted: bool = False) -> list[str]:
        return registry.id_subjects(schema_id, deleted)

    # ---- compatibility ----

    @app.post(
        "/compatibility/subjects/{subject}/versions/{version}",
        responses=answers(404, 413, 422),
        openapi_extra=body_of(SchemaIn),
    )
    async def test_version(
        subject: str, version: Version, request: Request, verbose: bool = False
    ) -> dict[str, Any]:
        body = await _body(request, body_limit)
        return await call(registry.test_compatibility, subject, version, body, verbose)

    @app.post(
        "/compatibility/subjects/{subject}/versions",
        responses=answers(404, 413, 422),
        openapi_extra=body_of(SchemaIn),
    )
    async def test_all(subject: str, request: Request, verbose: bool = False) -> dict[str, Any]:
        body = await _body(request, body_limit)
        return await call(registry.test_compatibility, subject, None, body, verbose)

    @app.get("/config", responses=answers())
    async def get_global_config() -> dict[str, str]:
        return registry.get_config(None)

    @app.put("/config", responses=answers(413, 422), openapi_extra=body_of(LevelIn))
    async def set_global_config(request: Request) -> dict[str, str]:
        body = await _body(request, body_limit)
        return await call(registry.set_config, None, body)

    @app.delete("/config", responses=answers())
    async def delete_global_config() -> dict[str, str]:
        return await call(registry.delete_config, None)

    @app.get("/config/{subject}", responses=answers(404))
    async def get_subject_config(
        subject: str, default_to_global: bool = Query(False, alias="defaultToGlobal")
    ) -> dict[str, str]:
        return registry.get_config(subject, default_to_global)

    @app.put("/config/{subject}", responses=answers(413, 422), openapi_extra=body_of(LevelIn))
    async def set_subject_config(subject: str, request: Request) -> dict[str, str]:
        body = await _body(request, body_limit)
        return await call(registry.set_config, subject, body)

    @app.delete("/config/{subject}", responses=answers(404))
    async def delete_subject_config(subject: str) -> dict[str, str]:
        return await call(registry.delete_config, subject)

    @app.get("/mode", responses=answers())
    async def mode() -> dict[str, str]:
        return {"mode": "READWRITE"}

    @app.get("/mode/{subject}", responses=answers())
    async def subject_mode(subject: str) -> dict[str, str]:
        return {"mode": "READWRITE"}

    @app.get("/", responses=answers())
    async def root() -> dict[str, Any]:
        return {}

    return app


def serve(settings: RegistrySettings) -> None:
    """Run the registry in the foreground; SIGTERM/SIGINT stop it gracefully (the lifespan
    then flushes the producer and closes the Kafka clients)."""
    log.info(
        "schema registry on http://%s:%d, store topic %s",
        settings.registry_host,
        settings.registry_port,
        settings.registry_topic,
    )
    service.serve(
        create_app(settings),
        settings.registry_host,
        settings.registry_port,
        graceful_s=settings.registry_graceful_s,
    )


def main() -> None:
    service.main(RegistrySettings, serve)
