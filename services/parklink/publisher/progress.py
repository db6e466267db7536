"""A small progress bar for the terminal (stderr); silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, stream: TextIO | None = None, every_s: float = 0.1) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self._every_s = every_s
        self._last = 0.0
        self._shown = False

    def update(self, done: int, ok: int, bad: int, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self._every_s:
            return
        self._last = now
        width = 30
        filled = width * done // self.total if self.total else width
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{self.total} lines  ok {ok}  rejected {bad}")
        self.stream.flush()
        self._shown = True

    def say(self, line: str) -> None:
        """Print a message above the bar."""
        if self._shown:
            self.stream.write("\r\x1b[K")
        self.stream.write(line + "\n")
        self.stream.flush()
        self._last = 0.0

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
