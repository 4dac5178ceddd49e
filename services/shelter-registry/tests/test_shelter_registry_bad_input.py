"""Bad input is 422 naming the field, and nothing is half-written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

VALID: dict[str, Any] = {
    "organisation_id": "ngo-kdei",
    "name": "Kdei Women's Safe House Kampot",
    "facility_type": "residential_shelter",
    "services": ["safe_accommodation"],
    "eligibility": {
        "sexes": ["female"],
        "min_age": 18,
        "max_age": 60,
        "exploitation_types": ["sexual_exploitation"],
    },
    "languages": ["km"],
    "location": {"province_code": "07", "district_code": "0708"},
    "beds_total": 6,
}


def changed(path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target = body
    for key in parents:
        target = target[key]
    target[last] = value
    return body


NEW_FACILITY_CASES = [
    ("negative beds", changed("beds_total", -1), "beds_total"),
    ("an unknown province", changed("location.province_code", "26"), "location.province_code"),
    (
        "a province that is no code",
        changed("location.province_code", "PP"),
        "location.province_code",
    ),
    (
        "a district of another province",
        changed("location.district_code", "1201"),
        "location.district_code",
    ),
    ("an age range upside down", changed("eligibility.min_age", 61), "eligibility.max_age"),
    ("an age beyond 120", changed("eligibility.max_age", 121), "eligibility.max_age"),
    ("no sex accepted", changed("eligibility.sexes", []), "eligibility.sexes"),
    ("an unknown service", changed("services", ["spa"]), "services.0"),
    ("a language that is no code", changed("languages", ["khmer"]), "languages.0"),
    (
        "a point outside Cambodia",
        changed("location", {"province_code": "07", "latitude": 48.8, "longitude": 2.3}),
        "location.latitude",
    ),
    ("beds as text", changed("beds_total", "6"), "beds_total"),
    ("an unknown field", {**VALID, "rating": 5}, "rating"),
    ("an unknown organisation", changed("organisation_id", "ngo-nobody"), "organisation_id"),
]


@pytest.mark.parametrize(
    ("case", "body", "field"), NEW_FACILITY_CASES, ids=[c[0] for c in NEW_FACILITY_CASES]
)
def test_a_bad_new_facility_is_422_naming_the_field(client, registrar, case, body, field) -> None:
    before = len(client.get("/directory?limit=500", headers=registrar).json()["items"])

    response = client.post("/facilities", json=body, headers=registrar)

    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field
    assert len(client.get("/directory?limit=500", headers=registrar).json()["items"]) == before


def test_capacity_below_occupancy_is_422_on_beds_total(
    client, auth, facility_id, facility, rows
) -> None:
    identifier = facility_id("lotus-pp-girls")  # 24 of 30 occupied
    before = facility(identifier)

    response = client.put(
        f"/facilities/{identifier}/capacity",
        json={"beds_total": 20},
        headers=auth("ngo-shelter-a", "provider_staff"),
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "beds_total"
    assert "24 in use" in response.json()["error"]["message"]
    assert facility(identifier) == before
    assert rows("SELECT * FROM capacity_change") == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"beds_total": -3}, "beds_total"),
        ({"beds_total": 30, "beds_occupied": -1}, "beds_occupied"),
        ({"beds_total": 30, "beds_occupied": 31}, "beds_total"),
        ({}, "beds_total"),
    ],
)
def test_bad_capacity_is_422_naming_the_field(client, auth, facility_id, body, field) -> None:
    response = client.put(
        f"/facilities/{facility_id('lotus-pp-girls')}/capacity",
        json=body,
        headers=auth("ngo-shelter-a", "provider_staff"),
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {"eligibility": {**VALID["eligibility"], "min_age": 40, "max_age": 12}},
            "eligibility.max_age",
        ),
        ({"location": {"province_code": "00"}}, "location.province_code"),
        ({"services": []}, "services"),
    ],
)
def test_a_bad_change_is_422_and_changes_nothing(
    client, auth, facility_id, facility, body, field
) -> None:
    identifier = facility_id("kdei-pp-women")
    before = facility(identifier)

    response = client.patch(
        f"/facilities/{identifier}", json=body, headers=auth("ngo-kdei", "provider_staff")
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
    assert facility(identifier) == before


def test_an_inspection_in_the_future_is_422(client, registrar, facility_id) -> None:
    response = client.post(
        f"/facilities/{facility_id('lotus-sr')}/inspections",
        json={"date": "2999-01-01", "result": "compliant"},
        headers=registrar,
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "date"
