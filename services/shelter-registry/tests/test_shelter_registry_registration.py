"""Registration with MOSVY: applied → registered → suspended or revoked, by the registrar
only, always with a reason; a facility not registered is never offered for referral and
its events say so."""

from __future__ import annotations

from typing import Any

import pytest

NEW_FACILITY: dict[str, Any] = {
    "organisation_id": "ngo-kdei",
    "name": "Kdei Women's Safe House Takeo",
    "facility_type": "residential_shelter",
    "services": ["safe_accommodation", "psychosocial", "medical"],
    "eligibility": {
        "sexes": ["female"],
        "min_age": 18,
        "max_age": 60,
        "exploitation_types": ["sexual_exploitation", "forced_labour"],
        "nationalities": [],
    },
    "languages": ["km", "vi"],
    "location": {
        "province_code": "21",
        "district_code": "2108",
        "latitude": 10.99,
        "longitude": 104.78,
    },
    "contacts": {"phone": "+855 32 900 301", "email": "takeo@kdei.example"},
    "beds_total": 8,
}


@pytest.fixture
def kdei(auth):
    return auth("ngo-kdei", "provider_staff")


@pytest.fixture
def applied(client, kdei) -> dict[str, Any]:
    response = client.post("/facilities", json=NEW_FACILITY, headers=kdei)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def decide(client, registrar, identifier: str, status: str, reason: str = "decided"):
    return client.post(
        f"/facilities/{identifier}/registration",
        json={"status": status, "reason": reason},
        headers=registrar,
    )


def candidates(client, registrar) -> set[str]:
    found = client.get("/facilities?province=21&limit=200", headers=registrar).json()
    return {item["facility"]["id"] for item in found["items"]}


def test_a_new_facility_waits_as_applied_and_is_not_offered(client, registrar, applied) -> None:
    assert applied["registration"]["status"] == "applied"
    assert applied["registration"]["offered_for_referral"] is False
    assert applied["id"] not in candidates(client, registrar)


def test_registered_it_is_offered_suspended_it_is_not(
    client, registrar, applied, outbox_events
) -> None:
    identifier = applied["id"]

    assert decide(client, registrar, identifier, "registered").status_code == 200
    assert identifier in candidates(client, registrar)

    suspended = decide(client, registrar, identifier, "suspended", "inspection: unsafe wiring")
    assert suspended.status_code == 200
    assert identifier not in candidates(client, registrar)
    assert suspended.json()["registration"]["status_reason"] == "inspection: unsafe wiring"

    changes = [e.data for e in outbox_events("status_changed") if e.subject == identifier]
    assert [(c.previous_status, c.registration.status) for c in changes] == [
        ("applied", "registered"),
        ("registered", "suspended"),
    ]
    assert [c.registration.offered_for_referral for c in changes] == [True, False]


def test_the_registration_history_keeps_every_decision_and_reason(
    client, registrar, applied
) -> None:
    identifier = applied["id"]
    decide(client, registrar, identifier, "registered", "meets the minimum standards")
    decide(client, registrar, identifier, "suspended", "staff ratio below standard")
    decide(client, registrar, identifier, "registered", "ratio restored")

    history = client.get(f"/facilities/{identifier}/registration/history", headers=registrar)

    assert [(h["from_status"], h["to_status"], h["reason"]) for h in history.json()] == [
        (None, "applied", "application received"),
        ("applied", "registered", "meets the minimum standards"),
        ("registered", "suspended", "staff ratio below standard"),
        ("suspended", "registered", "ratio restored"),
    ]
    assert history.json()[1]["decided_by"] == "mosvy/admin"


@pytest.mark.parametrize(
    ("path", "target"),
    [
        ([], "suspended"),  # applied cannot be suspended: it was never registered
        (["revoked"], "registered"),  # revocation is final
        (["registered"], "registered"),
    ],
)
def test_transitions_outside_the_lifecycle_are_409(
    client, registrar, applied, path, target
) -> None:
    for status in path:
        assert decide(client, registrar, applied["id"], status).status_code == 200

    response = decide(client, registrar, applied["id"], target)

    assert response.status_code == 409
    assert response.json()["error"]["field"] == "status"


def test_a_decision_needs_a_reason(client, registrar, applied) -> None:
    response = client.post(
        f"/facilities/{applied['id']}/registration",
        json={"status": "registered"},
        headers=registrar,
    )

    assert response.status_code == 422
    assert response.json()["error"]["field"] == "reason"


def test_suspension_releases_the_beds_held_there(
    client, registrar, facility_id, facility, new_id
) -> None:
    identifier = facility_id("kdei-pp-women")
    held = client.post(
        f"/facilities/{identifier}/reservations",
        json={"referral_id": new_id()},
        headers=registrar,
    )
    assert held.status_code == 201
    assert facility(identifier)["capacity"]["beds_reserved"] == 1

    decide(client, registrar, identifier, "suspended", "complaint under investigation")

    assert facility(identifier)["capacity"]["beds_reserved"] == 0
    reservation = client.get(
        f"/facilities/{identifier}/reservations/{held.json()['id']}", headers=registrar
    )
    assert reservation.json()["state"] == "released"


def test_an_inspection_is_recorded_and_announced(
    client, registrar, facility_id, outbox_events
) -> None:
    identifier = facility_id("lotus-sr")

    response = client.post(
        f"/facilities/{identifier}/inspections",
        json={"date": "2026-11-01", "result": "partially_compliant"},
        headers=registrar,
    )

    assert response.status_code == 200
    assert response.json()["registration"]["last_inspection_result"] == "partially_compliant"
    updated = [e.data for e in outbox_events("facility.updated") if e.subject == identifier]
    assert updated[-1].registration.last_inspection_date.isoformat() == "2026-11-01"


def test_facility_events_carry_the_full_public_state_but_no_contacts(
    client, applied, outbox_events
) -> None:
    registered = [e for e in outbox_events("facility.registered") if e.subject == applied["id"]]

    assert len(registered) == 1
    data = registered[0].data.model_dump(mode="json")
    assert data["eligibility"]["exploitation_types"] == ["forced_labour", "sexual_exploitation"]
    assert data["location"]["province_code"] == "21"
    assert data["capacity"] == {
        "beds_total": 8,
        "beds_occupied": 0,
        "beds_reserved": 0,
        "beds_free": 8,
    }
    assert "takeo@kdei.example" not in registered[0].to_kafka().value.decode()
    assert registered[0].actor is not None and str(registered[0].actor) == "ngo-kdei/provider_staff"
