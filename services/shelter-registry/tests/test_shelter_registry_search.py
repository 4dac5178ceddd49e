"""``GET /facilities``: referral candidates, filtered, ranked by fit then distance, each
with its reasons. The cases of the issue, against the reference data."""

from __future__ import annotations

from typing import Any

import pytest

# (case, query, expected first names in order, names that must not appear)
CASES = [
    (
        "a 30-year-old man from a fishing boat, back through Poipet, needs a bed",
        "sex=male&age=30&exploitation_type=forced_labour&service=safe_accommodation&province=01",
        ["Poipet Transit Centre", "MOSVY Phnom Penh Short-Stay Centre"],
        # no residential shelter takes adult men; boys' homes stop at 17
        ["Mekong Boys' Home Poipet", "Kdei Women's Safe House Phnom Penh"],
    ),
    (
        "the same man, found at Koh Kong port, needs legal aid",
        "sex=male&age=30&exploitation_type=forced_labour&service=legal_aid&province=09",
        [
            "Sam Aki Koh Kong Port Outreach",
            "Sam Aki Seafarers' Drop-in Sihanoukville",
            "Sam Aki Men's Drop-in Phnom Penh",
            "Justice Bridge Legal Aid Koh Kong",
        ],
        ["Lotus Light Koh Kong"],
    ),
    (
        "a 15-year-old girl in Phnom Penh, sexually exploited, needs a bed",
        "sex=female&age=15&exploitation_type=sexual_exploitation&service=safe_accommodation"
        "&province=12",
        ["Lotus Light Girls' Home Phnom Penh", "Lotus Light Girls' Home Battambang"],
        [
            "Kdei Women's Safe House Phnom Penh",  # adults only
            "Chantrea Children's Refuge Phnom Penh",  # up to 13
            "Mekong Bridge House Phnom Penh",  # from 16
            "Mekong Boys' Home Battambang",
            "Kdei Women's Safe House Kampong Cham",  # suspended
        ],
    ),
    (
        "a Vietnamese-speaking woman of 24 in Phnom Penh needs a bed",
        "sex=female&age=24&language=vi&nationality=VNM&service=safe_accommodation&province=12",
        ["Mekong Bridge House Phnom Penh", "Mekong Bridge House Kampot"],
        ["Kdei Women's Safe House Phnom Penh", "Lotus Light Girls' Home Phnom Penh"],
    ),
]


def names(results: dict[str, Any]) -> list[str]:
    return [item["facility"]["name"] for item in results["items"]]


@pytest.mark.parametrize(("case", "query", "first", "excluded"), CASES, ids=[c[0] for c in CASES])
def test_search_cases(client, registrar, case, query, first, excluded) -> None:
    response = client.get(f"/facilities?{query}", headers=registrar)

    assert response.status_code == 200, response.text
    found = names(response.json())
    assert found[: len(first)] == first
    assert not set(excluded) & set(found)


def test_the_girls_full_shelter_next_door_is_left_out_when_only_free_beds_are_asked(
    client, registrar
) -> None:
    query = "sex=female&age=15&service=safe_accommodation&province=12"

    everything = names(client.get(f"/facilities?{query}", headers=registrar).json())
    with_beds = names(
        client.get(f"/facilities?{query}&only_with_free_beds=true", headers=registrar).json()
    )

    assert "Chantrea Girls' Farm School Kandal" in everything  # full: 25 of 25
    assert "Chantrea Girls' Farm School Kandal" not in with_beds


def test_each_result_says_why_it_fits(client, registrar) -> None:
    query = "sex=female&age=15&exploitation_type=sexual_exploitation&service=safe_accommodation"
    first = client.get(f"/facilities?{query}&province=12", headers=registrar).json()["items"][0]

    assert first["fit"] == 4
    assert first["reasons"] == [
        "serves female clients only",
        "accepts age 15 (10 to 17)",
        "for children only",
        "supports survivors of sexual exploitation",
        "offers safe_accommodation",
        "6 free beds now",
        "in Phnom Penh, the person's province",
    ]


def test_a_neighbouring_province_ranks_before_a_farther_one_at_equal_fit(client, registrar) -> None:
    query = "facility_type=legal_aid_office&province=09"
    found = names(client.get(f"/facilities?{query}", headers=registrar).json())

    assert found[:2] == ["Justice Bridge Legal Aid Koh Kong", "Justice Bridge Legal Aid Pursat"]


def test_only_in_province_keeps_the_search_to_that_province(client, registrar) -> None:
    found = client.get("/facilities?province=17&only_in_province=true", headers=registrar).json()

    assert {item["facility"]["location"]["province_code"] for item in found["items"]} == {"17"}


def test_suspended_and_applying_facilities_are_never_candidates(client, registrar) -> None:
    found = names(client.get("/facilities?limit=200", headers=registrar).json())

    assert "Kdei Women's Safe House Kampong Cham" not in found  # suspended
    assert "MOSVY Svay Rieng Reception Centre" not in found  # applied


def test_any_authenticated_caller_may_search(client, auth) -> None:
    police = auth("moi-dahtjp", "screener")

    assert client.get("/facilities?sex=female", headers=police).status_code == 200
    assert client.get("/facilities?sex=female").status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("province=99", "province"),
        ("age=-1", "age"),
        ("age=121", "age"),
        ("language=vietnamese", "language"),
        ("sex=robot", "sex"),
        ("only_in_province=true", "province"),
    ],
)
def test_a_bad_search_is_422_naming_the_parameter(client, registrar, query, field) -> None:
    response = client.get(f"/facilities?{query}", headers=registrar)

    assert response.status_code == 422
    assert response.json()["error"]["field"] == field
