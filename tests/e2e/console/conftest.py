"""The console process and alert publisher fixtures (see integration/console/harness.py)."""

from integration.console.harness import console, publisher

__all__ = ["console", "publisher"]
