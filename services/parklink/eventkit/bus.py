"""kafka-python clients with ParkLink's defaults: idempotent producers with acks=all, consumers
that commit after processing, an admin client, and a readiness probe.

Every client authenticates as this process's principal (SASL/SCRAM over TLS, from the
`PARKLINK_KAFKA_*` settings, see docs/security.md) unless given another `security`; the
same credentials, in the shape faust/aiokafka and confluent-kafka want, come from here too."""

from __future__ import annotations

import logging
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from pydantic import SecretStr

from parklink.eventkit import credentials
from parklink.eventkit.errors import ParkLinkError
from parklink.eventkit.settings import Settings, load_settings


class KafkaUnavailable(ParkLinkError):
    """Kafka could not be reached or did not acknowledge in time."""


@dataclass(frozen=True)
class ClientSecurity:
    """How a client proves who it is to Kafka: SASL/SCRAM over TLS (or a plain listener)."""

    protocol: str = "SASL_SSL"
    mechanism: str = "SCRAM-SHA-512"
    username: str | None = None
    password: SecretStr | None = None
    ca_file: Path | None = None

    @property
    def secured(self) -> bool:
        return self.protocol == "SASL_SSL"

    def ssl_context(self) -> ssl.SSLContext:
        """A TLS context that trusts only the configured CA and checks the broker's name."""
        if self.ca_file is None:
            raise ParkLinkError("Kafka over TLS needs a CA file (PARKLINK_KAFKA_CA_FILE)")
        try:
            return ssl.create_default_context(cafile=str(self.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ParkLinkError(f"cannot load the Kafka CA file {self.ca_file}: {exc}") from exc

    def _secret(self) -> str:
        if self.username is None or self.password is None:
            raise ParkLinkError("SASL/SCRAM needs a user and a password (PARKLINK_KAFKA_USER)")
        return self.password.get_secret_value()

    def kafka_python(self) -> dict[str, Any]:
        """Settings for kafka-python's clients."""
        if not self.secured:
            return {"security_protocol": "PLAINTEXT"}
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": self.mechanism,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self._secret(),
            "ssl_context": self.ssl_context(),
        }

    def aiokafka(self) -> dict[str, Any]:
        """Settings for aiokafka's producers, consumers and admin clients."""
        return self.kafka_python()

    def confluent(self) -> dict[str, str]:
        """Settings for confluent-kafka (librdkafka) clients."""
        if not self.secured:
            return {"security.protocol": "plaintext"}
        return {
            "security.protocol": "sasl_ssl",
            "sasl.mechanism": self.mechanism,
            "sasl.username": self.username or "",
            "sasl.password": self._secret(),
            "ssl.ca.location": str(self.ca_file),
        }

    def with_user(self, username: str, password: SecretStr) -> ClientSecurity:
        return ClientSecurity(self.protocol, self.mechanism, username, password, self.ca_file)


def client_security(settings: Settings | None = None, user: str | None = None) -> ClientSecurity:
    """This process's Kafka credentials (or `user`'s) from the `PARKLINK_KAFKA_*` settings; the
    password and CA default to the files `parklink kafka up` wrote under the state dir."""
    s = settings if settings is not None else load_settings(Settings)
    if s.kafka_security_protocol == "PLAINTEXT":
        return ClientSecurity(protocol="PLAINTEXT")
    secrets = s.kafka_secrets_dir or credentials.kafka_secrets_dir(s.state_dir)
    name = user or s.kafka_user
    password = s.kafka_password if user is None else None
    if password is None:
        path = credentials.kafka_password_file(secrets, name)
        try:
            password = SecretStr(credentials.read_secret(path))
        except ParkLinkError as exc:
            raise ParkLinkError(
                f"no Kafka password for user {name}: set PARKLINK_KAFKA_PASSWORD, or "
                f"PARKLINK_KAFKA_SECRETS_DIR to where `parklink kafka up` keeps them ({exc})"
            ) from exc
    return ClientSecurity(
        protocol="SASL_SSL",
        mechanism=s.kafka_sasl_mechanism,
        username=name,
        password=password,
        ca_file=s.kafka_ca_file or secrets / "ca.pem",
    )


def faust_broker_credentials(settings: Settings | None = None) -> Any:
    """What faust.App(broker_credentials=...) needs: SASL/SCRAM with the TLS context, or None
    on a plain listener (faust then speaks PLAINTEXT)."""
    from faust import SASLCredentials

    security = client_security(settings)
    if not security.secured:
        return None
    return SASLCredentials(
        username=security.username,
        password=security._secret(),
        ssl_context=security.ssl_context(),
        mechanism=security.mechanism,
    )


def aiokafka_kwargs(settings: Settings | None = None) -> dict[str, Any]:
    """Security keyword arguments for aiokafka clients created outside faust."""
    return client_security(settings).aiokafka()


def _secured(conf: dict[str, Any], security: ClientSecurity | None) -> dict[str, Any]:
    return {**(security or client_security()).kafka_python(), **conf}


def producer(
    bootstrap: list[str], *, security: ClientSecurity | None = None, **overrides: Any
) -> KafkaProducer:
    conf: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": 5,
        "batch_size": 256 * 1024,
        "max_request_size": 4 * 1024 * 1024,
        "compression_type": None,
        "retries": 2**31 - 1,
        "delivery_timeout_ms": 30_000,
        "request_timeout_ms": 10_000,
        "max_block_ms": 10_000,
        "client_id": "parklink",
    }
    conf.update(overrides)
    try:
        return KafkaProducer(**_secured(conf, security))
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(bootstrap)}: {exc}") from exc


def consumer(
    bootstrap: list[str], *topics: str, security: ClientSecurity | None = None, **overrides: Any
) -> KafkaConsumer:
    conf: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": "parklink",
    }
    conf.update(overrides)
    try:
        return KafkaConsumer(*topics, **_secured(conf, security))
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(bootstrap)}: {exc}") from exc


def admin(
    bootstrap: list[str], *, security: ClientSecurity | None = None, **overrides: Any
) -> KafkaAdminClient:
    conf: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "parklink-admin",
        "request_timeout_ms": 10_000,
        # As Java clients do: kafka-python backs off up to 30 s from a node that refused a
        # connection, and picks its bootstrap node at random, so one node down (or not up
        # yet) held a short admin call for up to 30 s while the others answered.
        "reconnect_backoff_max_ms": 1000,
    }
    conf.update(overrides)
    try:
        return KafkaAdminClient(**_secured(conf, security))
    except KafkaError as exc:
        raise KafkaUnavailable(f"cannot reach Kafka at {','.join(bootstrap)}: {exc}") from exc


def live_brokers(client: KafkaAdminClient) -> int:
    """Brokers of the cluster that can take replicas: KRaft lists a broker that stopped as
    fenced (until it comes back), and a fenced broker must not count."""
    return sum(1 for b in client.describe_cluster()["brokers"] if not b.get("is_fenced"))


def broker_count(
    bootstrap: list[str], timeout_s: float = 5.0, security: ClientSecurity | None = None
) -> int:
    """How many live brokers the cluster reports within `timeout_s`; raises KafkaUnavailable
    if it cannot be asked. The client's first connection (its bootstrap) is bounded by
    `timeout_s` too: kafka-python would wait 30 s for it (a broker still starting, a refused
    login)."""
    timeout_ms = int(timeout_s * 1000)
    client = admin(
        bootstrap, security=security, request_timeout_ms=timeout_ms, bootstrap_timeout_ms=timeout_ms
    )
    try:
        return live_brokers(client)
    except KafkaError as exc:
        raise KafkaUnavailable(f"Kafka at {','.join(bootstrap)} did not answer: {exc}") from exc
    finally:
        client.close()


def wait_for_kafka(
    bootstrap: list[str],
    brokers: int = 1,
    timeout_s: float = 60.0,
    security: ClientSecurity | None = None,
) -> None:
    deadline = time.monotonic() + timeout_s
    last: Exception | None = None
    # Refused connections are expected while a broker starts; keep them out of the log.
    kafka_log = logging.getLogger("kafka")
    level = kafka_log.level
    kafka_log.setLevel(logging.CRITICAL)
    try:
        while time.monotonic() < deadline:
            try:
                if broker_count(bootstrap, security=security) >= brokers:
                    return
            except KafkaUnavailable as exc:
                last = exc
            time.sleep(0.5)
    finally:
        kafka_log.setLevel(level)
    raise KafkaUnavailable(
        f"Kafka at {','.join(bootstrap)} not ready with {brokers} broker(s) "
        f"after {timeout_s:.0f}s: {last}"
    )
