"""The secure mode of the local Kafka broker: TLS, SCRAM principals, deny-by-default ACLs.

``KafkaSecurity.ensure(directory)`` creates once, under ``<data dir>/security/``:

    ca.pem                the local certificate authority (clients trust it)
    ca-key.pem            its key (0600; only used here to sign the broker certificate)
    broker-keystore.pem   the broker's key and certificate chain (PEM keystore, 0600)
    credentials.json      the SCRAM-SHA-512 passwords: ``admin`` and one per service (0600)

The client listener is SASL_SSL (SCRAM-SHA-512); the controller listener is TLS with
client certificates, so the broker reaches its controller as ``User:CN=nrm-kafka-broker``.
The StandardAuthorizer denies whatever no ACL allows; ``admin`` and the broker are the
super users. ACLs per service: :mod:`nrm_deploy.kafka_acls`.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka.helpers import create_ssl_context
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SCRAM_MECHANISM = "SCRAM-SHA-512"
ADMIN_PRINCIPAL = "admin"
BROKER_COMMON_NAME = "nrm-kafka-broker"
BACKBONE_SERVICES = ("identification", "referral", "shelter-registry", "repatriation")
CA_VALIDITY = datetime.timedelta(days=3650)
BROKER_VALIDITY = datetime.timedelta(days=825)


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _make_certificates(directory: Path) -> None:
    """A CA, and a broker certificate for 127.0.0.1/localhost signed by it."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("NRM local Kafka CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
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
    broker_key = ec.generate_private_key(ec.SECP256R1())
    broker_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(BROKER_COMMON_NAME))
        .issuer_name(ca_name)
        .public_key(broker_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + BROKER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        # serverAuth for its listeners, clientAuth for reaching its controller listener.
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
    (directory / "ca.pem").write_bytes(ca_pem)
    _write_private(directory / "ca-key.pem", _pem_key(ca_key))
    _write_private(
        directory / "broker-keystore.pem",
        _pem_key(broker_key) + broker_cert.public_bytes(serialization.Encoding.PEM) + ca_pem,
    )


@dataclass(frozen=True)
class KafkaSecurity:
    """The security material of one local cluster (see the module docstring)."""

    directory: Path
    passwords: dict[str, str]

    @classmethod
    def ensure(cls, directory: Path, services: Iterable[str] = BACKBONE_SERVICES) -> KafkaSecurity:
        """Create the CA, the broker certificate and the passwords unless they exist."""
        directory = Path(directory).resolve()
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o700)
        if not (directory / "broker-keystore.pem").is_file():
            _make_certificates(directory)
        credentials_file = directory / "credentials.json"
        passwords: dict[str, str] = (
            json.loads(credentials_file.read_text()) if credentials_file.is_file() else {}
        )
        wanted = [ADMIN_PRINCIPAL, *services]
        if any(name not in passwords for name in wanted):
            for name in wanted:
                passwords.setdefault(name, secrets.token_urlsafe(24))
            _write_private(credentials_file, json.dumps(passwords, indent=2).encode())
        return cls(directory, passwords)

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def keystore_file(self) -> Path:
        return self.directory / "broker-keystore.pem"

    def scram_arguments(self) -> list[str]:
        """``kafka-storage format`` arguments creating every principal's SCRAM credential."""
        arguments = []
        for name, password in sorted(self.passwords.items()):
            arguments += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={password}]"]
        return arguments

    def broker_properties(self, broker_port: int, controller_port: int) -> str:
        """What the secure mode adds to (and overrides in) a node's server.properties."""
        admin_password = self.passwords[ADMIN_PRINCIPAL]
        return "\n".join(
            [
                "",
                "############################# Secure mode (nrm-kafka --secure) ####",
                # Later keys win in a properties file: these replace the PLAINTEXT listeners.
                f"listeners=SASL_SSL://127.0.0.1:{broker_port},"
                f"CONTROLLER://127.0.0.1:{controller_port}",
                f"advertised.listeners=SASL_SSL://127.0.0.1:{broker_port}",
                "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SSL",
                "inter.broker.listener.name=SASL_SSL",
                f"sasl.enabled.mechanisms={SCRAM_MECHANISM}",
                f"sasl.mechanism.inter.broker.protocol={SCRAM_MECHANISM}",
                "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config="
                "org.apache.kafka.common.security.scram.ScramLoginModule required "
                f'username="{ADMIN_PRINCIPAL}" password="{admin_password}";',
                "ssl.keystore.type=PEM",
                f"ssl.keystore.location={self.keystore_file}",
                "ssl.truststore.type=PEM",
                f"ssl.truststore.location={self.ca_file}",
                "listener.name.controller.ssl.client.auth=required",
                "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                "allow.everyone.if.no.acl.found=false",
                f"super.users=User:{ADMIN_PRINCIPAL};User:CN={BROKER_COMMON_NAME}",
                "",
            ]
        )

    def client_options(self, principal: str = ADMIN_PRINCIPAL) -> dict[str, Any]:
        """aiokafka client options connecting as ``principal``."""
        return {
            "security_protocol": "SASL_SSL",
            "ssl_context": create_ssl_context(cafile=str(self.ca_file)),
            "sasl_mechanism": SCRAM_MECHANISM,
            "sasl_plain_username": principal,
            "sasl_plain_password": self.passwords[principal],
        }

    def service_environment(self, service: str, env_prefix: str) -> dict[str, str]:
        """The settings a service needs to connect as its own principal."""
        return {
            f"{env_prefix}KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            f"{env_prefix}KAFKA_SASL_MECHANISM": SCRAM_MECHANISM,
            f"{env_prefix}KAFKA_SASL_USERNAME": service,
            f"{env_prefix}KAFKA_SASL_PASSWORD": self.passwords[service],
            f"{env_prefix}KAFKA_SSL_CAFILE": str(self.ca_file),
        }
