"""Schemathesis over a running service's OpenAPI document with every check it has: one helper
for the console's and the registry's tests. Each operation gets its own bounded run; every
operation is tried and every failure is reported, not only the first."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.specs.openapi.formats import STRING_FORMATS, unregister_string_format
from schemathesis.transport.requests import ManagedCookiesSession

Refine = Callable[[SearchStrategy[schemathesis.Case[Any]]], SearchStrategy[schemathesis.Case[Any]]]
"""Turns an operation's generated cases into the ones to send (e.g. to meet what the document
states only in words, such as a bound relative to the server's clock)."""


def every_check() -> list[Callable[..., Any]]:
    load_all_checks()
    checks = [c for c in CHECKS.get_all() if not isinstance(c, type)]
    assert len(checks) >= 14  # every check schemathesis has, not_a_server_error among them
    return checks


def failures_of(
    base_url: str,
    auths: Mapping[str, Mapping[str, str]],
    *,
    skip: Collection[str] = (),
    not_checked: Mapping[str, Collection[str]] | None = None,
    max_examples: int = 25,
    min_operations: int = 1,
    refine: Refine | None = None,
    formats: Mapping[str, SearchStrategy[str]] | None = None,
) -> list[str]:
    """Run generated requests against every operation of `base_url`/openapi.json (but the
    paths in `skip`), each sent once per header set of `auths`; `not_checked` names checks
    left out for a path (with the reason at the caller); `refine` adjusts the generated
    cases; `formats` replaces the generator of a string format for this run only. Returns
    the failures found."""
    with _formats(formats or {}):
        return _failures_of(
            base_url, auths, skip, not_checked, max_examples, min_operations, refine
        )


@contextlib.contextmanager
def _formats(formats: Mapping[str, SearchStrategy[str]]) -> Iterator[None]:
    """The generators of `formats` in place of schemathesis' own while the block runs (the
    registry is global: left in place, they would change what other tests generate)."""
    taken = set(formats) & set(STRING_FORMATS)
    assert not taken, f"formats registered elsewhere: {sorted(taken)}"
    for name, strategy in formats.items():
        schemathesis.openapi.format(name, strategy)
    try:
        yield
    finally:
        for name in formats:
            unregister_string_format(name)


def _failures_of(
    base_url: str,
    auths: Mapping[str, Mapping[str, str]],
    skip: Collection[str],
    not_checked: Mapping[str, Collection[str]] | None,
    max_examples: int,
    min_operations: int,
    refine: Refine | None,
) -> list[str]:
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    checks = every_check()
    operations = [op.ok() for op in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= min_operations
    failures: list[str] = []
    with _session() as session:
        for op in operations:
            if op.path in skip:
                continue
            left_out = set((not_checked or {}).get(op.path, ()))
            cases = op.as_strategy()
            failure = _run(
                cases if refine is None else refine(cases),
                [c for c in checks if c.__name__ not in left_out],
                session,
                base_url,
                auths,
                max_examples,
            )
            if failure is not None:
                failures.append(f"{op.method.upper()} {op.path}: {failure}")
    return failures


@contextlib.contextmanager
def _session() -> Iterator[requests.Session]:
    """One connection pool for the whole run instead of a new connection (and a look through
    the environment for proxies) per request. Schemathesis drops the cookies of this kind of
    session after each request, so every request carries only what it is sent with."""
    session = ManagedCookiesSession()
    session.trust_env = False  # the services under test listen on 127.0.0.1: no proxy
    try:
        yield session
    finally:
        session.close()


def _run(
    cases: SearchStrategy[schemathesis.Case[Any]],
    checks: list[Callable[..., Any]],
    session: requests.Session,
    base_url: str,
    auths: Mapping[str, Mapping[str, str]],
    max_examples: int,
) -> str | None:
    @settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=cases)
    def check(case: schemathesis.Case[Any]) -> None:
        for who, headers in auths.items():
            try:
                case.call_and_validate(
                    base_url=base_url, session=session, headers=dict(headers), checks=checks
                )
            except AssertionError as exc:
                raise AssertionError(f"as {who}: {exc}") from exc

    try:
        check()
    except (Exception, BaseExceptionGroup) as exc:  # every operation is tried, all reported
        return _describe(exc)
    return None


def _describe(exc: BaseException) -> str:
    """The exception with every one it groups (hypothesis reports a failure that did not
    repeat on replay as a group of the two outcomes, whose messages say what went wrong)."""
    lines = [f"{type(exc).__name__}: {exc}"]
    for inner in exc.exceptions if isinstance(exc, BaseExceptionGroup) else ():
        lines += ["  " + line for line in _describe(inner).splitlines()]
    return "\n".join(lines)
