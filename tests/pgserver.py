"""A throw-away PostgreSQL server for the tests that run the console's storage on both SQLite
and PostgreSQL: `initdb` into a temporary directory, `pg_ctl start` on a free port of
127.0.0.1 (unix socket in the same directory), a fresh database per test, everything removed
at the end of the session. PostgreSQL refuses to run as root, so under root the server runs as
the `postgres` system user (Debian's package creates it) through runuser.

PARKLINK_TEST_DATABASE_URL=postgresql://user:pw@host:port/db uses an existing server instead
(its role needs CREATEDB; PostgreSQL >= 13). A server that cannot be started fails the tests
under CI=true and skips them elsewhere, like the broker tier.

Import the fixtures into a tier's conftest: `from pgserver import database_url, new_database,
postgres_databases`."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from conftest import IN_CI
from psycopg import sql
from sqlalchemy.engine import make_url

from parklink.eventkit.lifecycle import free_port

SUPERUSER = "postgres"
START_TIMEOUT_S = 60


class PgUnavailable(Exception):
    """PostgreSQL cannot be started here; the message says why."""


def postgres_unavailable(reason: str) -> None:
    """Fail in CI (a PostgreSQL run that silently skips is a failure), skip elsewhere."""
    if IN_CI:
        pytest.fail(f"PostgreSQL tests cannot run: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL tests cannot run: {reason}")


def find_bindir() -> Path:
    """The directory of initdb/pg_ctl: Debian keeps them in /usr/lib/postgresql/<v>/bin,
    outside PATH; elsewhere they are on PATH."""
    versions = []
    for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb"):
        version = initdb.parent.parent.name
        if version.isdigit():
            versions.append((int(version), initdb.parent))
    if versions:
        return max(versions)[1]
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise PgUnavailable(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; "
        "run deploy/setup-system.sh as root (Debian package postgresql)"
    )


class PgServer:
    """One cluster in a temporary directory; `start()` then `stop()`."""

    def __init__(self) -> None:
        self.bindir = find_bindir()
        self.password = secrets.token_hex(16)
        self.port = 0
        self._as_user: list[str] = []
        self._owner: tuple[int, int] | None = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise PgUnavailable(
                    "running as root and there is no 'postgres' system user to run the server"
                ) from None
            runuser = shutil.which("runuser")
            if runuser is None:
                raise PgUnavailable("running as root and runuser is not installed")
            self._as_user = [runuser, "-u", SUPERUSER, "--"]
            self._owner = (entry.pw_uid, entry.pw_gid)
        # Short and world-traversable parent (/tmp): pytest's own tmp dirs are private to the
        # current user, and a unix socket path must stay under ~100 characters.
        self.root = Path(tempfile.mkdtemp(prefix="parklink-pg-"))
        self.data = self.root / "data"
        self.sockets = self.root / "sock"
        self.log = self.root / "server.log"
        self._started = False

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self._as_user, *args],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S + 30,
            check=False,
        )

    def start(self) -> None:
        self.sockets.mkdir()
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._owner is not None:
            for path in (self.root, self.sockets, pwfile):
                os.chown(path, *self._owner)
        done = self._run(
            str(self.bindir / "initdb"),
            "--pgdata",
            str(self.data),
            "--username",
            SUPERUSER,
            f"--pwfile={pwfile}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        if done.returncode != 0:
            raise PgUnavailable(f"initdb failed: {(done.stderr or done.stdout)[-1500:]}")
        pwfile.unlink()
        for _attempt in range(3):  # another process may take the free port first
            self.port = free_port()
            options = " ".join(
                [
                    "-c listen_addresses=127.0.0.1",
                    f"-c port={self.port}",
                    f"-c unix_socket_directories={self.sockets}",
                    # A throw-away cluster: durability buys nothing here.
                    "-c fsync=off",
                    "-c synchronous_commit=off",
                    "-c full_page_writes=off",
                ]
            )
            # -w: pg_ctl itself polls the server until it accepts connections (or times out).
            done = self._run(
                str(self.bindir / "pg_ctl"),
                "--pgdata",
                str(self.data),
                "--log",
                str(self.log),
                "--wait",
                f"--timeout={START_TIMEOUT_S}",
                "--options",
                options,
                "start",
            )
            if done.returncode == 0:
                self._started = True
                self._check()
                return
            log = self.log.read_text(errors="replace") if self.log.exists() else ""
            if "could not bind" not in log and "already in use" not in log:
                raise PgUnavailable(f"pg_ctl start failed: {(log or done.stderr)[-1500:]}")
            self.log.unlink()
        raise PgUnavailable("pg_ctl start failed: no free port could be bound")

    def _check(self) -> None:
        """pg_ctl -w answered; make sure the password and TCP listener work too."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    raise PgUnavailable(f"server started but refuses connections: {exc}") from exc
                time.sleep(0.1)

    def stop(self) -> None:
        try:
            if self._started:
                self._run(
                    str(self.bindir / "pg_ctl"),
                    "--pgdata",
                    str(self.data),
                    "--mode=immediate",
                    "--wait",
                    "stop",
                )
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class Databases:
    """Creates a fresh, empty database per call on the server that `admin_url` reaches, and
    drops them all (connections still open are cut: WITH (FORCE), PostgreSQL >= 13)."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        self._url = url.set(drivername="postgresql")
        self._admin = self._url.render_as_string(hide_password=False)
        self._made: list[str] = []

    def create(self) -> str:
        """A new empty database; returns its URL as PARKLINK_DATABASE_URL takes it."""
        name = f"parklink_t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._made.append(name)
        return self._url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        if name not in self._made:
            return
        with psycopg.connect(self._admin, autocommit=True, connect_timeout=10) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        self._made.remove(name)


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Databases]:
    """Fresh databases on PARKLINK_TEST_DATABASE_URL's server, or on a server started here."""
    given = os.environ.get("PARKLINK_TEST_DATABASE_URL")
    if given:
        databases = Databases(given)
        try:
            databases.drop(databases.create())
        except psycopg.Error as exc:
            postgres_unavailable(f"PARKLINK_TEST_DATABASE_URL: cannot create a database: {exc}")
        yield databases
        return
    server = started_server()
    try:
        yield Databases(server.url("postgres"))
    finally:
        server.stop()


def started_server() -> PgServer:
    """A PostgreSQL server of the test's own, started (the caller stops it); where none can
    run, the test fails in CI and is skipped elsewhere."""
    try:
        server = PgServer()
    except PgUnavailable as exc:
        postgres_unavailable(str(exc))
        raise
    try:
        server.start()
    except (PgUnavailable, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        postgres_unavailable(str(exc))
        raise
    return server


@pytest.fixture(params=["sqlite", "postgresql"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """Factory of fresh, empty databases of the backend the test is parametrized with; each
    call returns a URL in the form PARKLINK_DATABASE_URL takes (sqlite:///… or
    postgresql://…). The PostgreSQL server starts only when a postgresql test needs it."""
    if request.param == "sqlite":
        count = iter(range(1_000_000))
        yield lambda: f"sqlite:///{tmp_path / f'console-{next(count)}.db'}"
        return
    databases: Databases = request.getfixturevalue("postgres_databases")
    made: list[str] = []

    def create() -> str:
        made.append(databases.create())
        return made[-1]

    yield create
    for url in made:
        databases.drop(url)


@pytest.fixture
def database_url(new_database: Callable[[], str]) -> str:
    """One fresh database of the parametrized backend (see new_database)."""
    return new_database()
