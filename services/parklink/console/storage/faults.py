"""Telling a database that refuses what it is given (the same data would be refused again)
from a database that cannot answer now (worth trying again). Pure logic over exceptions."""

from __future__ import annotations

from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

REFUSED_CLASSES = frozenset({"22", "23", "54"})
"""PostgreSQL SQLSTATE classes that judge the data: data exception (a NUL in text, a value
too long, invalid JSON), integrity constraint violation, program limit exceeded (an index
entry too large)."""


def refuses_data(exc: BaseException) -> bool:
    """Whether `exc`, raised while storing records, says the records cannot be stored (rather
    than that the database is unreachable, restarting or busy)."""
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        state = getattr(exc.orig, "sqlstate", None)
        if isinstance(state, str) and len(state) == 5:
            return state[:2] in REFUSED_CLASSES
        return not isinstance(exc, (OperationalError, InterfaceError))
    if isinstance(exc, (DisconnectionError, PoolTimeout)):
        return False
    if isinstance(exc, SQLAlchemyError):
        # Raised before anything reached the database (a value its column type cannot bind).
        return True
    # Outside the database layer: the record made the storing code fail (a value it cannot
    # handle); a lost connection surfaces as a DBAPIError, a broken socket as OSError.
    return not isinstance(exc, OSError)


def describe(exc: BaseException, limit: int = 300) -> str:
    """A short reason for the log: the driver's message without the statement and its
    parameters (which hold the refused data, possibly megabytes of it)."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = " ".join(str(inner).split())
    return f"{type(inner).__name__}: {text[:limit]}"
