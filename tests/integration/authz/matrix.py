"""The authorization matrix: who calls (the columns), every endpoint (the rows), what each
cell must answer, and the table the test prints. Pure: no servers here."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

NO_TOKEN = "no token"
WRONG = "wrong token"
EXPIRED = "expired"
REVOKED = "revoked"
PUBLISHER_A = "A publisher"
OPERATOR_A = "A operator"
OPERATOR_B = "B operator"
VIEWER = "viewer"
ALLIANCE = "alliance op"
SCRAPER = "metrics token"

COLUMNS = (
    NO_TOKEN,
    WRONG,
    EXPIRED,
    REVOKED,
    PUBLISHER_A,
    OPERATOR_A,
    OPERATOR_B,
    VIEWER,
    ALLIANCE,
    SCRAPER,
)
"""Everyone the issue names, and the token Prometheus scrapes with."""
REFUSED = (NO_TOKEN, WRONG, EXPIRED, REVOKED, SCRAPER)
"""Callers without a valid token of the token store (the metrics token is not one)."""

REPORTS: list[str] = []
"""Matrices the tests printed, shown again in the terminal summary (conftest.py)."""


@dataclass(frozen=True)
class Call:
    """One concrete request: the path with its parameters filled in."""

    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    stream: bool = False
    """Read only the status of a streaming answer (SSE), then hang up."""


Build = Callable[[str], Call]
"""Makes a cell's request for a column (it may first create what the request acts on)."""


@dataclass(frozen=True)
class Row:
    service: str
    method: str
    route: str
    """The route as the app declares it, e.g. `/v1/alerts/{alert_id}`."""
    build: Build
    expect: Mapping[str, int]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.service, self.method, self.route)


def cells(
    refused: int = 401,
    *,
    publisher: int,
    operator_a: int,
    operator_b: int,
    viewer: int,
    alliance: int,
    no_token: int | None = None,
    scraper: int | None = None,
) -> dict[str, int]:
    """Expected statuses by column; the invalid tokens all get `refused`."""
    doc = dict.fromkeys(REFUSED, refused)
    if no_token is not None:
        doc[NO_TOKEN] = no_token
    if scraper is not None:
        doc[SCRAPER] = scraper
    doc.update(
        {
            PUBLISHER_A: publisher,
            OPERATOR_A: operator_a,
            OPERATOR_B: operator_b,
            VIEWER: viewer,
            ALLIANCE: alliance,
        }
    )
    return doc


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(COLUMNS, status)


def only_scraper() -> dict[str, int]:
    """/metrics with a metrics token set: the token, and nothing else, opens it."""
    return {**everyone(401), SCRAPER: 200}


def fixed(method: str, path: str, **kw: Any) -> Build:
    """The same request for every column."""
    call = Call(method, path, **kw)
    return lambda _column: call


def missing_rows(declared: Iterable[tuple[str, str, str]], rows: Iterable[Row]) -> list[str]:
    have = {r.key for r in rows}
    return [" ".join(k) for k in sorted(set(declared) - have)]


def stale_rows(declared: Iterable[tuple[str, str, str]], rows: Iterable[Row]) -> list[str]:
    wanted = set(declared)
    return [" ".join(r.key) for r in rows if r.key not in wanted]


def table(rows: Iterable[Row], seen: Mapping[tuple[str, str, str], Mapping[str, int]]) -> str:
    """The matrix as text: one line per endpoint, one column per caller; a cell shows the
    status seen, and `!=` with the expected one when they differ."""
    rows = list(rows)

    def cell(row: Row, column: str) -> str:
        got = seen.get(row.key, {}).get(column)
        want = row.expect[column]
        if got is None:
            return "-"
        return str(got) if got == want else f"{got}!={want}"

    first = [f"{r.service} {r.method} {r.route}" for r in rows]
    grid = [[cell(r, c) for c in COLUMNS] for r in rows]
    widths = [max([len("endpoint"), *map(len, first)])]
    widths += [max(len(c), *(len(g[i]) for g in grid)) for i, c in enumerate(COLUMNS)]
    lines = [
        " | ".join(t.ljust(w) for t, w in zip(("endpoint", *COLUMNS), widths, strict=True)),
        "-+-".join("-" * w for w in widths),
    ]
    for name, line in zip(first, grid, strict=True):
        values = (name, *line)
        lines.append(" | ".join(t.ljust(w) for t, w in zip(values, widths, strict=True)))
    return "\n".join(lines)


def mismatches(
    rows: Iterable[Row], seen: Mapping[tuple[str, str, str], Mapping[str, int]]
) -> list[str]:
    wrong = []
    for row in rows:
        for column in COLUMNS:
            got = seen.get(row.key, {}).get(column)
            if got != row.expect[column]:
                wrong.append(
                    f"{' '.join(row.key)} as {column}: {got}, expected {row.expect[column]}"
                )
    return wrong
