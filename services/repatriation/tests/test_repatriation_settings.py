"""Settings: which organisation speaks for which country, and what production refuses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from repatriation.settings import CounterpartLink, RepatriationSettings

DEV_ORGANISATIONS = Path(__file__).resolve().parents[3] / "deploy" / "dev-organisations.yaml"


def test_the_dev_mapping_of_counterpart_organisations_matches_the_dev_organisations() -> None:
    listed = yaml.safe_load(DEV_ORGANISATIONS.read_text())["organisations"]
    foreign = {
        entry["id"]: entry["country"] for entry in listed if entry["type"] == "foreign_agency"
    }

    settings = RepatriationSettings()

    assert {organisation: settings.country_of(organisation) for organisation in foreign} == foreign
    assert settings.country_of("mosvy") is None


def test_an_organisation_speaks_for_one_country_only() -> None:
    with pytest.raises(ValidationError, match="vnm-molisa listed for VNM and THA"):
        RepatriationSettings(
            counterparts={
                "VNM": CounterpartLink(organisations=("vnm-molisa",), secret="a"),
                "THA": CounterpartLink(organisations=("vnm-molisa",), secret="b"),
            }
        )


@pytest.mark.parametrize(
    ("link", "message"),
    [
        (CounterpartLink(organisations=(), secret="dev-only-vnm"), "set a real shared secret"),
        (
            CounterpartLink(organisations=(), endpoint="http://molisa.gov.vn/nrm", secret="x" * 32),
            "HTTPS is required",
        ),
    ],
)
def test_production_refuses_dev_secrets_and_plain_http(tmp_path: Path, link, message) -> None:
    with pytest.raises(ValidationError, match=message):
        RepatriationSettings(
            environment="production",
            database_url="postgresql+asyncpg://nrm@db/repatriation",
            jwt_issuer="https://id.mosvy.gov.kh",
            jwt_jwks_file=tmp_path / "jwks.json",
            organisations_file=tmp_path / "organisations.yaml",
            field_keys_file=tmp_path / "field-keys.json",
            operating_organisation="mosvy",
            counterparts={"VNM": link},
        )
