"""The console process and alert publisher fixtures (see integration/console/harness.py)."""

from integration.console.harness import console, publisher, receiver_factory
from pgserver import postgres_databases

__all__ = ["console", "postgres_databases", "publisher", "receiver_factory"]
