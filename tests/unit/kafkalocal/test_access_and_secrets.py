"""Pure parts of the secured broker: the ACL plan, ingress names, secret files, TLS material."""

from __future__ import annotations

import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from kafka.admin import ACLOperation, ACLResourcePatternType, ResourceType

from parklink.eventkit import access, credentials
from parklink.eventkit.catalog import load_catalog
from parklink.eventkit.errors import ParkLinkError
from parklink.kafkalocal.tls import ensure_tls

CATALOG = load_catalog()
NAMES = access.Names(prefix="alliance.")


def ops(grants: list[access.Grant]) -> dict[str, set[ACLOperation]]:
    out: dict[str, set[ACLOperation]] = {}
    for g in grants:
        out.setdefault(g.name, set()).update(g.operations)
    return out


def test_a_park_writes_only_its_own_ingress() -> None:
    grants = access.park_grants("KZ-ALA-IPA", CATALOG, NAMES)
    writes = [g for g in grants if ACLOperation.WRITE in g.operations]
    assert [(g.name, g.pattern) for g in writes] == [
        ("alliance.ingress.KZ-ALA-IPA.", ACLResourcePatternType.PREFIXED)
    ]
    readable = {g.name for g in grants if ACLOperation.READ in g.operations}
    assert readable == {
        "alliance.orders.v1",
        "alliance.shipments.v1",
        "alliance.capacity.v1",
        "alliance.alerts.v1",
        "park-KZ-ALA-IPA.",
    }
    assert all(ACLOperation.ALL not in g.operations for g in grants)


def test_services_get_only_what_they_use() -> None:
    gateway = ops(access.service_grants("gateway", CATALOG, NAMES))
    assert set(gateway) == {"alliance.orders.v1", "alliance.shipments.v1", "alliance.capacity.v1"}
    assert all(o == {ACLOperation.WRITE, ACLOperation.DESCRIBE} for o in gateway.values())
    console = ops(access.service_grants("console", CATALOG, NAMES))
    assert console == {"alliance.alerts.v1": {ACLOperation.READ, ACLOperation.DESCRIBE}}
    detector = ops(access.service_grants("detector", CATALOG, NAMES))
    assert ACLOperation.WRITE not in detector["alliance.orders.v1"]
    assert detector["alliance.dlq.v1"] == {ACLOperation.WRITE, ACLOperation.DESCRIBE}
    registry = access.service_grants("registry", CATALOG, NAMES)
    assert {g.name for g in registry} == {"_schemas"}
    relay = access.service_grants("relay", CATALOG, NAMES)
    assert {(g.resource, g.name) for g in relay if ACLOperation.READ in g.operations} == {
        (ResourceType.TOPIC, "alliance.ingress."),
        (ResourceType.GROUP, "parklink-relay"),
    }
    with pytest.raises(ParkLinkError):
        access.service_grants("simulator", CATALOG, NAMES)


def test_ingress_names_round_trip_and_do_not_overlap() -> None:
    topic = access.ingress_topic(CATALOG, "alliance.", "CN-QD-SCODA", "orders")
    assert topic == "alliance.ingress.CN-QD-SCODA.orders.v1"
    assert access.ingress_park("alliance.", topic) == ("CN-QD-SCODA", "orders.v1")
    assert not topic.startswith(access.ingress_prefix("alliance.", "CN-QD-SC"))
    assert access.ingress_park("alliance.", "alliance.orders.v1") is None
    assert access.ingress_park("alliance.", "alliance.ingress.nope.orders.v1") is None
    for bad in ("cn-qd-scoda", "CN-QD-SCODA.x", "../x", ""):
        with pytest.raises(ParkLinkError):
            access.park_principal(bad)
    with pytest.raises(ParkLinkError):
        access.ingress_topic(CATALOG, "alliance.", "CN-QD-SCODA", "alerts")


def test_secret_files_are_private(tmp_path: Path) -> None:
    secrets = tmp_path / "state" / "secrets" / "kafka"
    password = credentials.ensure_kafka_password(secrets, "gateway")
    assert credentials.ensure_kafka_password(secrets, "gateway") == password
    path = credentials.kafka_password_file(secrets, "gateway")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (secrets, secrets.parent, path.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    path.chmod(0o644)
    with pytest.raises(ParkLinkError, match="readable by others"):
        credentials.read_secret(path)
    with pytest.raises(ParkLinkError):
        credentials.kafka_password_file(secrets, "../admin")
    users = credentials.ensure_registry_users(tmp_path / "users.json")
    assert {name: role for name, (role, _) in users.items()} == {
        "admin": "admin",
        "writer": "writer",
        "reader": "reader",
    }
    assert credentials.ensure_registry_users(tmp_path / "users.json") == users


def test_tls_material_verifies_for_127_0_0_1(tmp_path: Path) -> None:
    ensure_tls(tmp_path)
    for name in ("ca.pem", "ca-key.pem", "broker.pem"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    chain = x509.load_pem_x509_certificates((tmp_path / "broker.pem").read_bytes())
    broker, ca = chain[0], x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    broker.verify_directly_issued_by(ca)
    san = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(tmp_path / "broker.pem")  # key and chain in one PEM, as Kafka reads
    before = (tmp_path / "ca.pem").read_bytes()
    ensure_tls(tmp_path)
    assert (tmp_path / "ca.pem").read_bytes() == before


def test_faust_and_aiokafka_get_the_same_login(tmp_path: Path) -> None:
    """What detector/app.py passes to faust.App(broker_credentials=...) turns, inside faust's
    aiokafka driver, into SASL_SSL with SCRAM-SHA-512 and the CA's TLS context."""
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    from parklink.eventkit.bus import aiokafka_kwargs, faust_broker_credentials
    from parklink.eventkit.settings import Settings

    secrets = tmp_path / "secrets" / "kafka"
    ensure_tls(secrets)
    password = credentials.ensure_kafka_password(secrets, "detector")
    settings = Settings(state_dir=tmp_path, kafka_secrets_dir=secrets, kafka_user="detector")
    auth = credentials_to_aiokafka_auth(faust_broker_credentials(settings))
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (auth["sasl_plain_username"], auth["sasl_plain_password"]) == ("detector", password)
    assert isinstance(auth["ssl_context"], ssl.SSLContext)
    assert auth["ssl_context"].check_hostname
    direct = aiokafka_kwargs(settings)
    assert direct["sasl_plain_username"] == "detector"
    plain = Settings(state_dir=tmp_path, kafka_security_protocol="PLAINTEXT")
    assert faust_broker_credentials(plain) is None
