"""The console's JSON error answers: `{"error": {"code", "message", "details"}}` with the
right status for its own errors, invalid requests, bad JSON and unknown routes."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from parklink.console.query import QueryError
from parklink.eventkit.web import error_response


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {ident!r}")


def invalid(field: list[str], message: str) -> ApiError:
    return ApiError(
        422, "invalid_request", message, [{"loc": field, "msg": message, "type": "value_error"}]
    )


def query_error(exc: QueryError) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        str(exc),
        [{"loc": ["query", exc.field], "msg": exc.message, "type": "value_error"}],
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type")}
            for err in exc.errors()
        ]
        if any(d["type"] == "json_invalid" for d in details):
            return error_response(400, "bad_json", "the request body is not valid JSON", details)
        return error_response(422, "invalid_request", "the request is not valid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail))
