"""The authorization matrix's network fixture (harness.py), and the terminal summary that
shows the matrix the test saw."""

from typing import Any

from integration.authz.harness import authz_network
from integration.authz.matrix import REPORTS

__all__ = ["authz_network"]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for text in REPORTS:
        terminalreporter.section("authorization matrix")
        terminalreporter.write_line(text)
