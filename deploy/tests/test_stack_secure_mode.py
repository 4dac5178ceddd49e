"""``nrm-stack --secure``: each service is given its own principal and the broker's CA,
and the secure mode never connects to a broker it did not start (whose credentials it
could not know)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nrm_deploy.catalogue import SERVICES
from nrm_deploy.kafka_security import KafkaSecurity
from nrm_deploy.stack import (
    StackError,
    StackOptions,
    StopSignals,
    parse_options,
    service_environment,
    start_kafka,
)


def test_secure_is_off_unless_asked_and_keeps_its_own_broker_storage(tmp_path) -> None:
    plain = parse_options(["--var-dir", str(tmp_path)])
    secure = parse_options(["--var-dir", str(tmp_path), "--secure"])

    assert (plain.secure, plain.kafka_dir) == (False, tmp_path / "kafka")
    assert (secure.secure, secure.kafka_dir) == (True, tmp_path / "kafka-secure")


@pytest.mark.parametrize("name", list(SERVICES))
def test_each_service_connects_as_its_own_principal_trusting_the_local_ca(
    tmp_path, name: str
) -> None:
    security = KafkaSecurity.ensure(tmp_path / "security")
    kind = SERVICES[name]
    options = StackOptions(tmp_path, 8001, 9092, secure=True)

    env = service_environment(kind, 8001, options, "127.0.0.1:9092", Path("jwks"), security)

    prefix = kind.env_prefix
    assert env[f"{prefix}KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert env[f"{prefix}KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert env[f"{prefix}KAFKA_SASL_USERNAME"] == name
    assert env[f"{prefix}KAFKA_SASL_PASSWORD"] == security.passwords[name]
    assert env[f"{prefix}KAFKA_SSL_CAFILE"] == str(security.ca_file)
    others = {security.passwords[other] for other in SERVICES if other != name}
    assert not others & set(env.values())  # no other service's password


def test_without_secure_no_service_is_given_credentials(tmp_path) -> None:
    kind = SERVICES["referral"]
    options = StackOptions(tmp_path, 8001, 9092)

    env = service_environment(kind, 8002, options, "127.0.0.1:9092", Path("jwks"))

    assert f"{kind.env_prefix}KAFKA_SASL_PASSWORD" not in env
    assert f"{kind.env_prefix}KAFKA_SECURITY_PROTOCOL" not in env


def test_secure_refuses_an_external_broker(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "broker.example:9093")
    options = StackOptions(tmp_path, 8001, 9092, secure=True)

    with pytest.raises(StackError, match="unset KAFKA_BOOTSTRAP_SERVERS"):
        start_kafka(options, StopSignals())
