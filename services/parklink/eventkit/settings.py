"""Settings shared by every service: read from `PARKLINK_*` environment variables, validated
at start so a bad value stops the process with one clear line."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from parklink.eventkit.credentials import read_secret
from parklink.eventkit.errors import ParkLinkError

ENV_PREFIX = "PARKLINK_"


class Settings(BaseSettings):
    """Common settings; each service's `config.py` extends this class."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    state_dir: Path = Field(Path(".parklink"), description="Kafka data, SQLite, tokens, logs.")
    cache_dir: Path = Field(
        Path.home() / ".cache" / "parklink", description="Downloaded jars, outside the repo."
    )
    kafka_bootstrap: str = Field(
        "127.0.0.1:9092", min_length=3, description="Comma-separated host:port list."
    )
    topic_prefix: str = Field("alliance.", pattern=r"^[A-Za-z0-9._-]*$", max_length=100)
    registry_url: str = Field("http://127.0.0.1:8081", pattern=r"^https?://")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    # ---- Kafka and registry client security (docs/security.md) ----------------------------
    kafka_security_protocol: Literal["SASL_SSL", "PLAINTEXT"] = Field(
        "SASL_SSL", description="SASL_SSL (SCRAM over TLS); PLAINTEXT only for a plain listener."
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_user: str = Field(
        "admin",
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="Kafka principal of this process; each service runs as its own.",
    )
    kafka_password: SecretStr | None = Field(
        None, description="Default: <kafka_secrets_dir>/users/<kafka_user>.password."
    )
    kafka_secrets_dir: Path | None = Field(
        None, description="CA and passwords of the local broker; default <state_dir>/secrets/kafka."
    )
    kafka_ca_file: Path | None = Field(
        None, description="CA that signed the broker certificate; default <secrets>/ca.pem."
    )
    registry_user: str | None = Field(
        None, description="HTTP Basic user for the registry; none means anonymous (read only)."
    )
    registry_password: SecretStr | None = Field(
        None, description="Default: the user's entry in <state_dir>/secrets/registry/users.json."
    )
    registry_users_file: Path | None = Field(
        None, description="The registry's users and roles; default under the state dir."
    )

    metrics_token: SecretStr | None = Field(
        None,
        description="When set, /metrics needs `Authorization: Bearer <this token>` (what "
        "Prometheus sends with `authorization`); /healthz and /readyz stay open.",
    )
    metrics_token_file: Path | None = Field(
        None, description="A 0600 file holding the metrics token, instead of the variable."
    )

    @property
    def bootstrap_servers(self) -> list[str]:
        return [s.strip() for s in self.kafka_bootstrap.split(",") if s.strip()]

    def metrics_secret(self) -> SecretStr | None:
        """The token /metrics asks for, if any: the setting, else the file's content."""
        if self.metrics_token is not None:
            return self.metrics_token
        if self.metrics_token_file is None:
            return None
        token = read_secret(self.metrics_token_file)
        if not token:
            raise ParkLinkError(f"the metrics token file {self.metrics_token_file} is empty")
        return SecretStr(token)

    # Bounds of event_time where events enter the network (gateway, SDK; docs/bounds.md).
    event_time_skew_s: float = Field(
        600.0, ge=0, le=86_400, description="How far in the future an event_time may be."
    )
    event_time_horizon_s: float = Field(
        30 * 86_400.0,
        gt=0,
        le=366 * 86_400.0,
        description="How old an event_time may be when the event is published.",
    )


S = TypeVar("S", bound=BaseSettings)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build settings from the environment; turn validation errors into one clear message."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{name}: {err['msg']} (got {err.get('input')!r})")
        raise ParkLinkError("invalid setting: " + "; ".join(problems)) from exc
