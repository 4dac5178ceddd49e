"""Who may do what: an NGO maintains its own facilities only; only MOSVY's registrar
changes a registration; everyone authenticated reads the public directory."""

from __future__ import annotations

import pytest

LOTUS_PP = "lotus-pp-girls"  # owned by ngo-shelter-a


@pytest.fixture
def own_staff(auth):
    return auth("ngo-shelter-a", "provider_staff")


@pytest.fixture
def other_ngo(auth):
    return auth("ngo-kdei", "provider_staff")


CHANGES = [
    ("patch", "", {"name": "Renamed by a rival"}),
    ("put", "/capacity", {"beds_total": 2}),
    ("post", "/placements", {"placement_id": "2f0c4a8e-1b2c-4d3e-8f4a-5b6c7d8e9f01"}),
]


@pytest.mark.parametrize(
    ("method", "path", "body"), CHANGES, ids=[c[1] or "details" for c in CHANGES]
)
def test_another_ngo_cannot_change_the_facility(
    client, facility_id, other_ngo, facility, method, path, body
) -> None:
    identifier = facility_id(LOTUS_PP)
    before = facility(identifier)

    response = client.request(
        method, f"/facilities/{identifier}{path}", json=body, headers=other_ngo
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert facility(identifier) == before


def test_another_ngo_cannot_hold_a_bed_there(client, facility_id, other_ngo, new_id) -> None:
    response = client.post(
        f"/facilities/{facility_id(LOTUS_PP)}/reservations",
        json={"referral_id": new_id()},
        headers=other_ngo,
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "caller",
    [
        ("ngo-shelter-a", "provider_staff"),  # even its own facility
        ("ngo-kdei", "provider_staff"),
        ("ngo-shelter-a", "admin"),  # an NGO's admin is not MOSVY
        ("mosvy", "case_manager"),  # MOSVY, but not its registrar
        ("moi-dahtjp", "admin"),
    ],
)
def test_only_mosvys_registrar_changes_a_registration(
    client, auth, facility_id, facility, caller
) -> None:
    identifier = facility_id(LOTUS_PP)

    response = client.post(
        f"/facilities/{identifier}/registration",
        json={"status": "suspended", "reason": "an attempt"},
        headers=auth(*caller),
    )

    assert response.status_code == 403
    assert facility(identifier)["registration"]["status"] == "registered"


def test_only_mosvys_registrar_records_an_inspection(client, own_staff, facility_id) -> None:
    response = client.post(
        f"/facilities/{facility_id(LOTUS_PP)}/inspections",
        json={"date": "2026-10-01", "result": "compliant"},
        headers=own_staff,
    )

    assert response.status_code == 403


def test_own_staff_maintain_their_facility(client, own_staff, facility_id) -> None:
    identifier = facility_id(LOTUS_PP)

    renamed = client.patch(
        f"/facilities/{identifier}", json={"languages": ["km", "en", "fr"]}, headers=own_staff
    )
    beds = client.put(
        f"/facilities/{identifier}/capacity", json={"beds_total": 32}, headers=own_staff
    )

    assert renamed.status_code == 200
    assert renamed.json()["languages"] == ["en", "fr", "km"]
    assert beds.status_code == 200
    assert beds.json()["capacity"]["beds_total"] == 32


def test_staff_enter_facilities_for_their_own_organisation_only(client, own_staff) -> None:
    response = client.post(
        "/facilities",
        headers=own_staff,
        json={
            "organisation_id": "ngo-kdei",
            "name": "Not ours",
            "facility_type": "clinic",
            "services": ["medical"],
            "eligibility": {
                "sexes": ["female"],
                "min_age": 0,
                "max_age": 120,
                "exploitation_types": ["other"],
            },
            "languages": ["km"],
            "location": {"province_code": "12"},
        },
    )

    assert response.status_code == 403


@pytest.mark.parametrize(
    "caller",
    [("moi-dahtjp", "screener"), ("ngo-kdei", "provider_staff"), ("mosvy", "analyst")],
)
def test_any_authenticated_caller_reads_the_directory(client, auth, facility_id, caller) -> None:
    headers = auth(*caller)

    assert client.get(f"/facilities/{facility_id(LOTUS_PP)}", headers=headers).status_code == 200
    assert client.get("/directory", headers=headers).status_code == 200
    assert client.get("/coverage", headers=headers).status_code == 200


def test_the_capacity_history_is_for_the_owner_and_mosvy(
    client, auth, own_staff, other_ngo, facility_id
) -> None:
    path = f"/facilities/{facility_id(LOTUS_PP)}/capacity/history"

    assert client.get(path, headers=own_staff).status_code == 200
    assert client.get(path, headers=auth("mosvy", "case_manager")).status_code == 200
    assert client.get(path, headers=other_ngo).status_code == 403


def test_no_token_no_answer(client, facility_id) -> None:
    assert client.get(f"/facilities/{facility_id(LOTUS_PP)}").status_code == 401
    assert client.get("/coverage").status_code == 401
