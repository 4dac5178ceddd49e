"""``GET /coverage``: beds and services by population group and province, and the gaps,
computed from the registered facilities, never declared."""

from __future__ import annotations

from typing import Any


def national(report: dict[str, Any], group: str) -> dict[str, Any]:
    return next(cell for cell in report["national"] if cell["group"] == group)


def residential_gaps(report: dict[str, Any]) -> set[str]:
    return {g["group"] for g in report["gaps"] if g["kind"] == "no_residential_provider"}


def test_adult_men_and_transgender_persons_have_no_residential_provider(client, registrar) -> None:
    report = client.get("/coverage", headers=registrar).json()

    assert residential_gaps(report) == {"adult_men", "transgender_persons"}
    men = national(report, "adult_men")
    assert men["residential_facilities"] == 0
    assert men["facilities"] > 0  # transit, legal aid and drop-in services exist
    assert national(report, "girls")["residential_facilities"] >= 5


def test_the_gap_follows_the_data_a_shelter_for_men_closes_it(client, registrar, auth) -> None:
    staff = auth("ngo-sam-aki", "provider_staff")
    created = client.post(
        "/facilities",
        headers=staff,
        json={
            "organisation_id": "ngo-sam-aki",
            "name": "Sam Aki Men's Shelter Koh Kong",
            "facility_type": "residential_shelter",
            "services": ["safe_accommodation", "psychosocial"],
            "eligibility": {
                "sexes": ["male"],
                "min_age": 18,
                "max_age": 70,
                "exploitation_types": ["forced_labour"],
            },
            "languages": ["km", "th"],
            "location": {"province_code": "09"},
            "beds_total": 12,
        },
    )
    assert created.status_code == 201, created.text
    assert "adult_men" in residential_gaps(client.get("/coverage", headers=registrar).json())

    decided = client.post(
        f"/facilities/{created.json()['id']}/registration",
        headers=registrar,
        json={"status": "registered", "reason": "meets the minimum standards"},
    )

    assert decided.status_code == 200, decided.text
    report = client.get("/coverage", headers=registrar).json()
    assert "adult_men" not in residential_gaps(report)
    assert national(report, "adult_men")["beds_total"] >= 12


def test_provinces_without_any_provider_for_a_group_are_flagged(client, registrar) -> None:
    report = client.get("/coverage", headers=registrar).json()
    flagged = {
        (g["group"], g["province_code"])
        for g in report["gaps"]
        if g["kind"] == "no_provider_in_province"
    }

    assert ("girls", "11") in flagged  # Mondulkiri: nobody at all
    assert ("girls", "12") not in flagged
    assert len(report["provinces"]) == 25 * 5


def test_a_suspended_facility_counts_for_nobody(client, registrar) -> None:
    report = client.get("/coverage", headers=registrar).json()
    kampong_cham = [
        c for c in report["provinces"] if c["province_code"] == "03" and c["group"] == "adult_women"
    ]

    assert kampong_cham[0]["facilities"] == 0  # its only shelter is suspended
