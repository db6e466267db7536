"""The Confluent Schema Registry error codes and the error every registry operation raises."""

from __future__ import annotations

SUBJECT_NOT_FOUND = 40401
VERSION_NOT_FOUND = 40402
SCHEMA_NOT_FOUND = 40403
SUBJECT_SOFT_DELETED = 40404
SUBJECT_NOT_SOFT_DELETED = 40405
VERSION_SOFT_DELETED = 40406
VERSION_NOT_SOFT_DELETED = 40407
SUBJECT_LEVEL_CONFIG_NOT_FOUND = 40408
INCOMPATIBLE = 409
UNPROCESSABLE = 422
INVALID_SCHEMA = 42201
INVALID_VERSION = 42202
INVALID_COMPATIBILITY_LEVEL = 42203
BACKEND_ERROR = 50001
BACKEND_TIMEOUT = 50002

MAX_VERSION = 2**31 - 1


class ApiError(Exception):
    """An answer other than success: HTTP status, Confluent error code and message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def subject_not_found(subject: str) -> ApiError:
    return ApiError(404, SUBJECT_NOT_FOUND, f"Subject '{subject}' not found.")


def version_not_found(subject: str, version: object) -> ApiError:
    return ApiError(404, VERSION_NOT_FOUND, f"Version {version} not found in subject '{subject}'.")


def schema_not_found(what: object = None) -> ApiError:
    text = "Schema not found" if what is None else f"Schema {what} not found"
    return ApiError(404, SCHEMA_NOT_FOUND, text)


def parse_version(raw: str) -> int | None:
    """A version path segment: a number in [1, 2^31-1], or "latest"/-1 (returned as None)."""
    if raw == "latest" or raw == "-1":
        return None
    if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_VERSION:
        return int(raw)
    raise ApiError(
        422,
        INVALID_VERSION,
        f"The specified version '{raw}' is not a valid version id. Allowed values are between "
        f'[1, {MAX_VERSION}] and the string "latest"',
    )
