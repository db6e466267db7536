"""Settings of the console (PARKLINK_CONSOLE_*, PARKLINK_DATABASE_URL, PARKLINK_WEBHOOK_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr

from parklink.eventkit.settings import Settings


class ConsoleSettings(Settings):
    console_host: str = Field("127.0.0.1", min_length=1)
    console_port: int = Field(8088, ge=1, le=65535)
    database_url: SecretStr | None = Field(
        None,
        description="SQLAlchemy URL, e.g. postgresql://user:pw@host/db; default: SQLite "
        "console.db in the state dir.",
    )
    webhook_backoff_s: float = Field(2.0, gt=0, description="Delay before the 2nd attempt.")
    webhook_backoff_max_s: float = Field(600.0, gt=0)
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_timeout_s: float = Field(10.0, gt=0)
    sse_keepalive_s: float = Field(15.0, gt=0)
    sse_queue_size: int = Field(1000, ge=10)

    def database(self) -> str:
        """The SQLAlchemy URL to open; PostgreSQL URLs get the psycopg 3 driver."""
        if self.database_url is None:
            return f"sqlite:///{(self.state_dir / 'console.db').resolve()}"
        url = self.database_url.get_secret_value()
        for scheme in ("postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+psycopg://" + url[len(scheme) :]
        return url
