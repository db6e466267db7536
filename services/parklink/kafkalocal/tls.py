"""The local broker's TLS material: a CA made for this state dir and a broker certificate it
signs (names 127.0.0.1 and localhost), as PEM files Kafka reads directly (ssl.keystore.type
and ssl.truststore.type PEM). The broker certificate doubles as the client certificate the
nodes present to each other's controller listener, which requires one."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from parklink.eventkit.credentials import write_secret

BROKER_CN = "parklink-broker"
CA_CN = "ParkLink local Kafka CA"
VALID_DAYS = 825


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(cn: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ParkLink"),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


def ensure_tls(secrets: Path) -> None:
    """Create ca.pem, ca-key.pem and broker.pem under `secrets` unless they exist."""
    ca_file, ca_key_file, broker_file = (
        secrets / "ca.pem",
        secrets / "ca-key.pem",
        secrets / "broker.pem",
    )
    if ca_file.exists() and ca_key_file.exists() and broker_file.exists():
        return
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(CA_CN))
        .issuer_name(_name(CA_CN))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(BROKER_CN))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=VALID_DAYS))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    write_secret(ca_key_file, _key_pem(ca_key))
    write_secret(
        broker_file, _key_pem(key) + cert.public_bytes(serialization.Encoding.PEM) + ca_pem
    )
    write_secret(ca_file, ca_pem)


def broker_principal() -> str:
    """The principal Kafka derives from the broker certificate on an mTLS listener."""
    return f"User:CN={BROKER_CN},O=ParkLink"
