"""Settings: dev fills in what a laptop needs; production refuses what only a laptop may use."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from nrm_runtime.settings import DEV_ISSUER, Environment, default_var_dir, repo_root

POSTGRES = "postgresql+asyncpg://nrm@db.internal/unit"
ISSUER_KEYS = Path("/etc/nrm/issuer-jwks.json")


def production(**changes: object) -> dict[str, object]:
    """Values of a production deployment that passes; ``changes`` replace them."""
    values: dict[str, object] = {
        "environment": "production",
        "database_url": POSTGRES,
        "jwt_issuer": "https://idp.nrm.gov.kh",
        "jwt_jwks_file": ISSUER_KEYS,
        "telemetry_exporter": "otlp",
        "organisations_file": Path("/etc/nrm/organisations.yaml"),
        "operating_organisation": "mosvy",
    }
    values.update(changes)
    return {name: value for name, value in values.items() if value is not None}


def test_a_sound_production_configuration_is_accepted(make_settings) -> None:
    settings = make_settings(**production())

    assert settings.environment is Environment.PRODUCTION
    assert (settings.database_url, settings.jwt_jwks_file) == (POSTGRES, ISSUER_KEYS)
    assert not settings.is_sqlite


@pytest.mark.parametrize(
    ("changes", "refusal"),
    [
        pytest.param(
            {"database_url": "sqlite+aiosqlite:///unit.db"}, "SQLite is a development", id="sqlite"
        ),
        pytest.param({"database_url": None}, "database_url is required", id="no-database"),
        pytest.param({"jwt_issuer": None}, "dev token issuer", id="default-issuer"),
        pytest.param({"jwt_issuer": DEV_ISSUER}, "dev token issuer", id="dev-issuer"),
        pytest.param(
            {"jwt_jwks_file": default_var_dir() / "keys" / "dev-jwks.json"},
            "dev signing keys",
            id="dev-keys",
        ),
        pytest.param({"jwt_jwks_file": None}, "jwt_jwks_file is required", id="no-keys"),
        pytest.param({"telemetry_exporter": "console"}, "console trace exporter", id="console"),
    ],
)
def test_production_refuses_what_is_only_safe_on_a_laptop(make_settings, changes, refusal) -> None:
    with pytest.raises(ValidationError, match=refusal):
        make_settings(**production(**changes))


def test_production_refuses_the_dev_keys_by_a_relative_path(make_settings, monkeypatch) -> None:
    monkeypatch.chdir(repo_root())

    with pytest.raises(ValidationError, match="dev signing keys"):
        make_settings(**production(jwt_jwks_file="var/keys/dev-jwks.json"))


def test_dev_fills_in_the_local_database_and_keys(make_settings) -> None:
    settings = make_settings(environment="dev")

    assert settings.database_url == f"sqlite+aiosqlite:///{default_var_dir() / 'unit.db'}"
    assert settings.jwt_jwks_file == default_var_dir() / "keys" / "dev-jwks.json"
    assert settings.is_sqlite
    assert settings.jwt_issuer == DEV_ISSUER


@pytest.mark.parametrize("environment", ["test", "production"])
@pytest.mark.parametrize("missing", ["database_url", "jwt_jwks_file"])
def test_outside_dev_the_database_and_the_trusted_keys_must_be_named(
    make_settings, environment, missing
) -> None:
    values = production(environment=environment, **{missing: None})

    with pytest.raises(ValidationError, match=f"{missing} is required in {environment}"):
        make_settings(**values)


def test_the_test_environment_may_use_sqlite_and_the_dev_issuer(make_settings, tmp_path) -> None:
    settings = make_settings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}",
        jwt_jwks_file=tmp_path / "dev-jwks.json",
    )

    assert settings.is_sqlite
    assert settings.jwt_issuer == DEV_ISSUER


def test_dev_keeps_what_was_set(make_settings) -> None:
    settings = make_settings(database_url=POSTGRES, jwt_jwks_file=ISSUER_KEYS)

    assert (settings.database_url, settings.jwt_jwks_file) == (POSTGRES, ISSUER_KEYS)


@pytest.mark.parametrize("algorithms", [("HS256",), ("none",), ("ES256", "HS512"), ("PS256",), ()])
def test_only_rs256_and_es256_are_accepted_for_tokens(make_settings, algorithms) -> None:
    with pytest.raises(ValidationError, match="only RS256 and ES256"):
        make_settings(jwt_algorithms=algorithms)


@pytest.mark.parametrize("algorithms", [("ES256",), ("RS256",), ("RS256", "ES256")])
def test_rs256_and_es256_are_accepted(make_settings, algorithms) -> None:
    assert make_settings(jwt_algorithms=algorithms).jwt_algorithms == algorithms


def test_settings_are_read_from_the_services_environment_prefix(make_settings, monkeypatch) -> None:
    monkeypatch.setenv("NRMUNIT_PORT", "8123")
    monkeypatch.setenv("NRMUNIT_JWT_ALGORITHMS", '["RS256"]')
    monkeypatch.setenv("NRMUNIT_KAFKA_TOPIC_PREFIX", "staging.")
    monkeypatch.setenv("PORT", "9999")  # another service's, or nobody's

    settings = make_settings()

    assert (settings.port, settings.jwt_algorithms) == (8123, ("RS256",))
    assert settings.kafka_topic_prefix == "staging."


def test_production_is_refused_from_the_environment_too(make_settings, monkeypatch) -> None:
    monkeypatch.setenv("NRMUNIT_ENVIRONMENT", "production")
    monkeypatch.setenv("NRMUNIT_DATABASE_URL", "sqlite+aiosqlite:///unit.db")
    monkeypatch.setenv("NRMUNIT_JWT_JWKS_FILE", str(ISSUER_KEYS))

    with pytest.raises(ValidationError, match="SQLite"):
        make_settings()


def test_env_refuses_hs256(make_settings, monkeypatch) -> None:
    monkeypatch.setenv("NRMUNIT_JWT_ALGORITHMS", '["HS256"]')

    with pytest.raises(ValidationError, match="only RS256 and ES256"):
        make_settings()


@pytest.mark.parametrize(
    ("prefix", "topic"),
    [
        ("", "nrm.referral"),
        ("t1a2b3.", "t1a2b3.nrm.referral"),
        ("staging-", "staging-nrm.referral"),
    ],
)
def test_topic_puts_the_deployment_prefix_before_the_contract_topic(
    make_settings, prefix, topic
) -> None:
    assert make_settings(kafka_topic_prefix=prefix).topic("nrm.referral") == topic


@pytest.mark.parametrize("prefix", ["has space.", "slash/", "star*"])
def test_a_topic_prefix_kafka_would_refuse_is_refused(make_settings, prefix) -> None:
    with pytest.raises(ValidationError, match="kafka_topic_prefix"):
        make_settings(kafka_topic_prefix=prefix)


@pytest.mark.parametrize(
    "changes",
    [
        {"port": 0},
        {"port": 65536},
        {"outbox_poll_seconds": 0},
        {"consumer_max_attempts": 0},
        {"kafka_session_timeout_ms": 999},
    ],
)
def test_out_of_range_numbers_are_refused(make_settings, changes) -> None:
    with pytest.raises(ValidationError):
        make_settings(**changes)


def test_settings_cannot_change_once_read(make_settings) -> None:
    settings = make_settings()

    with pytest.raises(ValidationError):
        settings.port = 9000


@pytest.mark.parametrize("organisation", ["", "MOSVY", "Ministry of Social Affairs", "a" * 65])
def test_the_operating_organisation_is_an_organisation_id(make_settings, organisation) -> None:
    with pytest.raises(ValidationError, match="operating_organisation"):
        make_settings(operating_organisation=organisation)


def test_the_backbone_is_operated_by_mosvy_unless_said_otherwise(make_settings) -> None:
    assert make_settings().operating_organisation == "mosvy"
    assert make_settings(operating_organisation="mowa").operating_organisation == "mowa"
