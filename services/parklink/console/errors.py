"""The console's refusals, in the shared JSON error body of every ParkLink service
(`parklink.eventkit.web`): what is missing, what is not valid, and where."""

from __future__ import annotations

from parklink.console.query import QueryError
from parklink.eventkit.web import ApiError, install_error_handlers

__all__ = ["ApiError", "install_error_handlers", "invalid", "not_found", "query_error"]


def not_found(what: str, ident: str) -> ApiError:
    return ApiError(404, "not_found", f"no {what} {ident!r}")


def _detail(path: str, message: str) -> dict[str, str | None]:
    return {"index": None, "path": path, "message": message, "type": "value_error"}


def invalid(field: list[str], message: str) -> ApiError:
    return ApiError(422, "invalid_request", message, [_detail(".".join(field), message)])


def query_error(exc: QueryError) -> ApiError:
    return ApiError(422, "invalid_request", str(exc), [_detail(f"query.{exc.field}", exc.message)])
