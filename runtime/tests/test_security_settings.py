"""The security settings: safe defaults in dev, refusals in production, keys by URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nrm_runtime.auth import JwksUrl
from nrm_runtime.broker import kafka_client_options
from nrm_runtime.service import token_verifier
from nrm_runtime.settings import default_var_dir, dev_organisations_file

PRODUCTION = {
    "environment": "production",
    "database_url": "postgresql+asyncpg://nrm@db.internal/unit",
    "jwt_issuer": "https://idp.nrm.gov.kh",
    "jwt_jwks_url": "https://idp.nrm.gov.kh/.well-known/jwks.json",
    "organisations_file": Path("/etc/nrm/organisations.yaml"),
    "field_keys_file": Path("/etc/nrm/field-keys.json"),
    "operating_organisation": "mosvy",
}


def test_dev_defaults_name_the_local_keys_and_organisations(make_settings) -> None:
    settings = make_settings()

    assert settings.field_keys_file == default_var_dir() / "keys" / "field-keys.json"
    assert settings.organisations_file == dev_organisations_file()
    assert (settings.max_request_body_bytes, settings.auth_failure_limit) == (1024 * 1024, 20)
    assert settings.jwt_leeway_seconds == 30


def test_production_accepts_keys_from_the_identity_providers_url(make_settings) -> None:
    settings = make_settings(**PRODUCTION)

    verifier = token_verifier(settings, None)

    assert isinstance(verifier.jwks_url, JwksUrl)
    assert verifier.jwks_url.url == PRODUCTION["jwt_jwks_url"]
    assert verifier.leeway == 30


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        ({"jwt_jwks_url": "http://idp.nrm.gov.kh/jwks"}, "must be an https:// URL"),
        ({"jwt_jwks_file": Path("/etc/nrm/jwks.json")}, "not both"),
        ({"organisations_file": None}, "organisations_file is required"),
        ({"operating_organisation": None}, "operating_organisation is required"),
        ({"organisations_file": dev_organisations_file()}, "dev organisations"),
        ({"field_keys_file": default_var_dir() / "keys" / "field-keys.json"}, "dev field"),
        ({"jwt_leeway_seconds": 3600}, "jwt_leeway_seconds"),
        ({"kafka_security_protocol": "SASL_SSL"}, "needs kafka_sasl_username/password"),
    ],
)
def test_production_refuses_unsafe_security_settings(make_settings, changes, refusal) -> None:
    values = {**PRODUCTION, **changes}
    values = {name: value for name, value in values.items() if value is not None}

    with pytest.raises(ValidationError, match=refusal):
        make_settings(**values)


def test_kafka_stays_plaintext_by_default(make_settings) -> None:
    assert kafka_client_options(make_settings()) == {"security_protocol": "PLAINTEXT"}


def test_kafka_over_sasl_ssl_uses_the_services_principal_and_the_ca(
    make_settings, tmp_path
) -> None:
    from nrm_deploy.kafka_security import KafkaSecurity

    security = KafkaSecurity.ensure(tmp_path / "security")
    settings = make_settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="referral",
        kafka_sasl_password=security.passwords["referral"],
        kafka_ssl_cafile=security.ca_file,
    )

    options = kafka_client_options(settings)

    assert options["security_protocol"] == "SASL_SSL"
    assert (options["sasl_mechanism"], options["sasl_plain_username"]) == (
        "SCRAM-SHA-512",
        "referral",
    )
    assert options["sasl_plain_password"] == security.passwords["referral"]
    assert options["ssl_context"].check_hostname
    assert security.passwords["referral"] not in repr(settings)
