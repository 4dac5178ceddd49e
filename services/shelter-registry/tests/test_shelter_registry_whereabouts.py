"""Where a shelter is: persons sleep there, so its street address, coordinates and
distance are given only to its own organisation, MOSVY's registrar and coordinators, and
the case managers who accompany persons there. Everyone else reads the directory entry
without them; a clinic's or a legal aid office's whereabouts stay public."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

ADDRESS = "House 9, Street 271, Sangkat Tomnob Tuek"
OWNER = "ngo-kdei"


def _facility(facility_type: str) -> dict[str, Any]:
    return {
        "organisation_id": OWNER,
        "name": f"Kdei {facility_type}",
        "facility_type": facility_type,
        "services": ["safe_accommodation"] if facility_type != "clinic" else ["medical"],
        "eligibility": {
            "sexes": ["female"],
            "min_age": 18,
            "max_age": 60,
            "exploitation_types": ["forced_labour"],
            "nationalities": [],
        },
        "languages": ["km"],
        "location": {
            "province_code": "12",
            "district_code": "1203",
            "latitude": 11.5401,
            "longitude": 104.9012,
        },
        "contacts": {"phone": "+855 23 900 777", "address": ADDRESS},
        "beds_total": 6 if facility_type != "clinic" else 0,
    }


@pytest.fixture
def registered(
    client: TestClient, auth: Callable[..., dict[str, str]], registrar: dict[str, str]
) -> Callable[[str], str]:
    """``registered("residential_shelter")``: a new facility of that type, registered."""

    def _make(facility_type: str) -> str:
        created = client.post(
            "/facilities", json=_facility(facility_type), headers=auth(OWNER, "provider_staff")
        )
        assert created.status_code == 201, created.text
        identifier: str = created.json()["id"]
        decided = client.post(
            f"/facilities/{identifier}/registration",
            json={"status": "registered", "reason": "inspected and meets the standards"},
            headers=registrar,
        )
        assert decided.status_code == 200, decided.text
        return identifier

    return _make


SEE = [
    (OWNER, ("provider_staff",)),
    (OWNER, ("analyst",)),
    ("mosvy", ("admin",)),
    ("mosvy", ("case_manager",)),
    ("mosvy", ("competent_authority",)),
    ("ngo-shelter-a", ("case_manager",)),
    ("iom-khm", ("case_manager",)),
    ("mowa", ("case_manager",)),
]
WITHHELD = [
    ("moi-dahtjp", ("screener",)),
    ("moi-dahtjp", ("case_manager",)),
    ("mosvy", ("analyst",)),
    ("mosvy", ("auditor",)),
    ("ngo-shelter-a", ("provider_staff",)),
    ("vnm-molisa", ("liaison_officer",)),
    ("tha-msdhs", ("case_manager",)),
]


def _whereabouts(entry: dict[str, Any]) -> tuple[Any, ...]:
    location = entry["location"]
    return (entry["contacts"]["address"], location["latitude"], location["longitude"])


def _views(client: TestClient, headers: dict[str, str], identifier: str) -> list[dict[str, Any]]:
    """The facility as the caller finds it by id, in the directory and in a search."""
    one = client.get(f"/facilities/{identifier}", headers=headers)
    page = client.get("/directory", params={"organisation_id": OWNER}, headers=headers)
    search = client.get("/facilities", params={"province": "12", "limit": 200}, headers=headers)
    for response in (one, page, search):
        assert response.status_code == 200, response.text
    listed = [e for e in page.json()["items"] if e["id"] == identifier]
    found = [r for r in search.json()["items"] if r["facility"]["id"] == identifier]
    assert len(listed) == 1 and len(found) == 1
    return [one.json(), listed[0], found[0]["facility"] | {"_result": found[0]}]


@pytest.mark.parametrize("facility_type", ["residential_shelter", "transit_centre"])
@pytest.mark.parametrize(("organisation", "roles"), SEE, ids=[f"{o}-{r[0]}" for o, r in SEE])
def test_those_who_bring_persons_see_where_a_shelter_is(
    client, auth, registered, facility_type, organisation, roles
) -> None:
    identifier = registered(facility_type)

    for entry in _views(client, auth(organisation, *roles), identifier):
        assert entry["whereabouts_withheld"] is False
        assert _whereabouts(entry) == (ADDRESS, 11.5401, 104.9012)


@pytest.mark.parametrize("facility_type", ["residential_shelter", "transit_centre"])
@pytest.mark.parametrize(
    ("organisation", "roles"), WITHHELD, ids=[f"{o}-{r[0]}" for o, r in WITHHELD]
)
def test_everyone_else_reads_a_shelter_without_its_whereabouts(
    client, auth, registered, facility_type, organisation, roles
) -> None:
    identifier = registered(facility_type)

    for entry in _views(client, auth(organisation, *roles), identifier):
        assert entry["whereabouts_withheld"] is True
        assert _whereabouts(entry) == (None, None, None)
        assert entry["location"]["province_code"] == "12"
        assert entry["contacts"]["phone"] == "+855 23 900 777"
        result = entry.get("_result")
        if result is not None:
            assert result["distance_km"] is None
            assert not any("km" in reason for reason in result["reasons"])


def test_a_clinics_whereabouts_are_public(client, auth, registered) -> None:
    identifier = registered("clinic")

    for entry in _views(client, auth("moi-dahtjp", "screener"), identifier):
        assert entry["whereabouts_withheld"] is False
        assert _whereabouts(entry) == (ADDRESS, 11.5401, 104.9012)


def test_a_withheld_search_still_ranks_and_says_the_province(client, auth, registered) -> None:
    identifier = registered("residential_shelter")

    found = client.get(
        "/facilities", params={"province": "08", "limit": 200}, headers=auth("mosvy", "analyst")
    ).json()["items"]

    (result,) = [r for r in found if r["facility"]["id"] == identifier]
    assert "in neighbouring Phnom Penh" in result["reasons"]
