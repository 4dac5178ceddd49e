"""The reference codes: one list of provinces and languages for every service, served
at ``/reference/*`` to any signed-in caller (no one's data), never to a caller without
a token."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from nrm_runtime.auth import Role
from nrm_runtime.errors import install_error_handlers
from nrm_runtime.reference_codes import (
    is_province_code,
    languages,
    province_enum,
    provinces,
)
from nrm_runtime.reference_routes import reference_router


@pytest.fixture
def client(dev_token_verifier) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = dev_token_verifier
    app.include_router(reference_router)
    return TestClient(app)


def test_the_25_provinces_with_their_codes_names_in_both_scripts_and_borders() -> None:
    known = {province.code: province for province in provinces()}

    assert sorted(known) == [f"{n:02d}" for n in range(1, 26)]
    assert known["12"].name == "Phnom Penh"
    assert known["12"].name_km == "ភ្នំពេញ"
    assert known["12"].neighbours == ["05", "08"]
    assert all(
        code in known[neighbour].neighbours
        for code, province in known.items()
        for neighbour in province.neighbours
    ), "a border is shared by both provinces"
    assert all(10 < p.latitude < 15 and 102 < p.longitude < 108 for p in known.values())
    assert is_province_code("25")
    assert not is_province_code("00")
    assert not is_province_code("26")


def test_the_schema_enum_of_a_province_code_is_the_reference_list() -> None:
    schema: dict[str, object] = {}
    province_enum(schema)

    assert schema["enum"] == [province.code for province in provinces()]


def test_languages_are_iso_639_1_codes_each_once_khmer_first() -> None:
    codes = [language.code for language in languages()]

    assert codes[0] == "km"
    assert len(codes) == len(set(codes))
    assert all(len(code) == 2 and code.isascii() and code.islower() for code in codes)
    assert {"km", "th", "vi", "en", "zh", "lo", "my"} <= set(codes)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("path", ["/reference/provinces", "/reference/languages"])
def test_every_signed_in_caller_reads_the_codes(client, mint, role, path) -> None:
    response = client.get(path, headers={"Authorization": f"Bearer {mint('ngo-shelter-a', role)}"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert len(response.json()) == (25 if path.endswith("provinces") else len(languages()))


@pytest.mark.parametrize("path", ["/reference/provinces", "/reference/languages"])
def test_a_caller_without_a_token_is_refused(client, path) -> None:
    response = client.get(path)

    assert response.status_code == 401
    assert response.json()["error"]["code"]


def test_a_token_without_a_role_is_refused(client, mint) -> None:
    response = client.get(
        "/reference/provinces", headers={"Authorization": f"Bearer {mint('ngo-shelter-a')}"}
    )

    assert response.status_code in (401, 403)  # no role is no valid caller here
