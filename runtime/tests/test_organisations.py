"""The organisation registry: a token's organisation must be known, active, of its type."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from nrm_runtime.auth import OrganisationType, Principal, Role, TokenVerifier
from nrm_runtime.errors import ProblemError, install_error_handlers
from nrm_runtime.organisations import CurrentOrganisation, OrganisationRegistry
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER, dev_organisations_file

REGISTRY = """
organisations:
  - {id: mosvy, type: ministry, country: KHM, name: "MOSVY"}
  - {id: vnm-molisa, type: foreign_agency, country: VNM, name: "Viet Nam MoLISA"}
  - {id: ngo-closed, type: ngo, country: KHM, name: "A closed NGO", active: false}
"""


@pytest.fixture
def registry(tmp_path) -> OrganisationRegistry:
    path = tmp_path / "organisations.yaml"
    path.write_text(REGISTRY)
    return OrganisationRegistry.load(path)


def principal(organisation: str, organisation_type: str) -> Principal:
    return Principal(
        subject="u",
        organisation=organisation,
        organisation_type=OrganisationType(organisation_type),
        roles=frozenset({Role.LIAISON_OFFICER}),
    )


def test_a_known_organisation_is_recognised_with_its_country(registry) -> None:
    organisation = registry.recognise(principal("vnm-molisa", "foreign_agency"))

    assert (organisation.type, organisation.country) == (OrganisationType.FOREIGN_AGENCY, "VNM")


@pytest.mark.parametrize(
    ("organisation", "claimed_type"),
    [
        pytest.param("ngo-unknown", "ngo", id="unknown"),
        pytest.param("ngo-closed", "ngo", id="inactive"),
        pytest.param("vnm-molisa", "ministry", id="another-type"),
        pytest.param("mosvy", "foreign_agency", id="ministry-claiming-foreign"),
    ],
)
def test_an_unrecognised_organisation_is_401_the_same_way(
    registry, organisation, claimed_type
) -> None:
    with pytest.raises(ProblemError) as refused:
        registry.recognise(principal(organisation, claimed_type))

    assert (refused.value.status, refused.value.code, refused.value.message) == (
        401,
        "unknown_organisation",
        "the token's organisation is not recognised",
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("organisations:\n  - {id: a, type: ngo, country: KHM, name: A}\n"
         "  - {id: a, type: ngo, country: KHM, name: B}\n", "listed twice"),
        ("organisations:\n  - {id: a, type: church, country: KHM, name: A}\n", "#1 is invalid"),
        ("organisations:\n  - {id: a, type: ngo, country: kh, name: A}\n", "#1 is invalid"),
        ("organisations:\n  - {id: Bad Id, type: ngo, country: KHM, name: A}\n", "#1 is invalid"),
    ],
)  # fmt: skip
def test_a_malformed_registry_is_refused_naming_the_entry(tmp_path, document, message) -> None:
    path = tmp_path / "organisations.yaml"
    path.write_text(document)

    with pytest.raises(ValueError, match=message):
        OrganisationRegistry.load(path)


def test_the_dev_registry_knows_every_dev_organisation() -> None:
    registry = OrganisationRegistry.load(dev_organisations_file())

    assert registry.get("mosvy") is not None
    assert registry.get("tha-msdhs").country == "THA"
    assert {o.type for o in registry} == set(OrganisationType)


@pytest.fixture
def app(registry, token_keys: Path) -> FastAPI:
    app = FastAPI()
    app.state.organisations = registry
    app.state.token_verifier = TokenVerifier(
        token_keys / "dev-jwks.json",
        issuer=DEV_ISSUER,
        audience=DEFAULT_AUDIENCE,
        algorithms=("ES256",),
        organisations=registry,
    )
    install_error_handlers(app)
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(organisation: CurrentOrganisation) -> dict[str, str]:
        return {"id": organisation.id, "country": organisation.country}

    app.include_router(router)
    return app


def test_a_route_asks_for_the_callers_organisation(app, mint) -> None:
    token = mint("vnm-molisa", "liaison_officer")

    response = TestClient(app).get("/whoami", headers={"Authorization": f"Bearer {token}"})

    assert response.json() == {"id": "vnm-molisa", "country": "VNM"}


@pytest.mark.parametrize(
    ("organisation", "organisation_type"),
    [("ngo-unknown", "ngo"), ("ngo-closed", "ngo"), ("vnm-molisa", "ngo")],
)
def test_a_token_of_an_unrecognised_organisation_is_refused_by_every_route(
    app, mint, organisation, organisation_type
) -> None:
    token = mint(organisation, "liaison_officer", organisation_type=organisation_type)

    response = TestClient(app).get("/whoami", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unknown_organisation"
