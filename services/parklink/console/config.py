"""Settings of the console (PARKLINK_CONSOLE_*, PARKLINK_DATABASE_URL, PARKLINK_WEBHOOK_*)."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from parklink.console.targets import AllowEntry, parse_allow_list
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
    webhook_timeout_s: float = Field(
        10.0, gt=0, le=3600, description="Longest one attempt may take, answer included."
    )
    webhook_receiver_concurrency: int = Field(
        4, ge=1, le=64, description="Deliveries in flight at once to one webhook."
    )
    webhook_allowed_targets: str = Field(
        "",
        description="host:port entries (comma-separated; host:* for any port) that webhooks "
        "may reach over plain http and on private or loopback addresses, e.g. "
        "127.0.0.1:8099 for a receiver on this machine. Every other target needs https and "
        "a public address.",
    )
    webhook_secret_key: SecretStr | None = Field(
        None,
        description="Fernet key that encrypts webhook secrets at rest; default: a key "
        "generated into webhook-secrets.key (0600) in the state dir.",
    )
    sse_keepalive_s: float = Field(15.0, gt=0)
    sse_recheck_s: float = Field(
        2.0, gt=0, le=5, description="How often an open stream re-checks its token."
    )

    @field_validator("webhook_allowed_targets")
    @classmethod
    def _allow_list(cls, value: str) -> str:
        parse_allow_list(value)
        return value

    def allowed_targets(self) -> list[AllowEntry]:
        return parse_allow_list(self.webhook_allowed_targets)

    def database(self) -> str:
        """The SQLAlchemy URL to open; PostgreSQL URLs get the psycopg 3 driver."""
        if self.database_url is None:
            return f"sqlite:///{(self.state_dir / 'console.db').resolve()}"
        url = self.database_url.get_secret_value()
        for scheme in ("postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+psycopg://" + url[len(scheme) :]
        return url
