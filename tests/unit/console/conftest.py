"""The console's storage and API tests run on SQLite and on PostgreSQL (tests/pgserver.py):
tests that take `database_url`, `new_database` or `open_store` are parametrized over both."""

from collections.abc import Callable, Iterator

import pytest
from pgserver import database_url, new_database, postgres_databases
from unit.console.served import delivered, served

from parklink.console.config import ConsoleSettings
from parklink.console.sealing import SecretBox
from parklink.console.storage import AlertStore

__all__ = [
    "database_url",
    "delivered",
    "new_database",
    "open_store",
    "postgres_databases",
    "served",
]


@pytest.fixture
def open_store(new_database: Callable[[], str]) -> Iterator[Callable[[str], AlertStore]]:
    """Open (and migrate) a store from a PARKLINK_DATABASE_URL value, the way the console
    does; every store opened is closed after the test (before its database is dropped)."""
    opened: list[AlertStore] = []
    box = SecretBox.generate()  # one key per test, as one console keeps its key

    def open_(url: str) -> AlertStore:
        url = ConsoleSettings(database_url=url).database()
        opened.append(AlertStore.open(url, box))
        return opened[-1]

    yield open_
    for store in opened:
        store.close()
