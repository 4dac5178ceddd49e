"""The person's data in referral: the assessment's wishes and notes, the officer's
contact, visit notes and webhook secrets sealed at rest; every read, change and
disclosure audited; the provider's routes serve the addressee only; a key rotation
leaves everything readable."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from nrm_runtime.cli import rotate_service_data
from nrm_runtime.field_crypto import KeyRing, add_key, key_id_of
from referral.entrypoints.events import reception_handlers

SHELTER = UUID("00000000-0000-4000-8000-0000000000aa")
WISHES = "Canarywish: wants to stay near her sister in Battambang"
NOTES = "Canarynote: afraid of the broker who lives in her village"
CONTACT = "+855 12 731 999"
VISIT_NOTES = "Canaryvisit: back at school, family supportive"


@pytest.fixture
def coordinator(auth) -> dict[str, str]:
    return auth("mosvy", "case_manager")


@pytest.fixture
def provider(auth) -> dict[str, str]:
    return auth("ngo-shelter-a", "provider_staff")


@pytest.fixture
def case_id(client, handle_event, victim_presumed, facility_event, coordinator) -> str:
    """A girl presumed a victim who consented to referral and to data sharing, assessed,
    with ngo-shelter-a's shelter in referral's directory."""
    database = client.app.state.database
    handlers = reception_handlers(client.app.state.referral)

    async def _directory() -> None:
        async with database.unit_of_work() as uow:
            event = facility_event(SHELTER, "ngo-shelter-a")
            await handlers[type(event)](event, uow)
            await uow.commit()

    client.portal.call(_directory)
    presumed = victim_presumed(consented_purposes=["referral", "data_sharing"])
    [opened] = client.portal.call(handle_event, database, presumed)
    case = str(opened.data.referral_case_id)
    assessed = client.put(
        f"/referral-cases/{case}/assessment",
        json={
            "needs": ["safe_accommodation"],
            "urgency": "high",
            "languages": ["km"],
            "wishes": WISHES,
            "notes": NOTES,
        },
        headers=coordinator,
    )
    assert assessed.status_code == 200, assessed.text
    return case


def _referral(client, case_id: str, coordinator, auth) -> str:
    created = client.post(
        f"/referral-cases/{case_id}/referrals",
        json={
            "facility_id": str(SHELTER),
            "needs": ["safe_accommodation"],
            "officer_contact": CONTACT,
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    referral = created.json()["id"]
    client.post(f"/referrals/{referral}/submit", headers=coordinator)
    signed = client.post(
        f"/referrals/{referral}/sign-off", headers=auth("mosvy", "competent_authority")
    )
    assert signed.json()["state"] == "sent", signed.text
    return str(referral)


def _stored(database: Path) -> bytes:
    wal = database.with_name(database.name + "-wal")
    return database.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _audit(client, auth, resource_id: str) -> list[tuple[str, str, str, str]]:
    response = client.get(
        "/audit", params={"resource_id": resource_id}, headers=auth("mosvy", "auditor")
    )
    assert response.status_code == 200, response.text
    return [
        (e["organisation"], e["action"], e["resource_type"], e["purpose"])
        for e in response.json()["items"]
    ]


def _admitted_and_discharged(client, referral: str, provider) -> list[dict[str, Any]]:
    for action, body in (
        ("accept", None),
        ("admit", None),
        ("exit", {"exit_reason": "reintegrated"}),
    ):
        moved = client.post(f"/referrals/{referral}/{action}", json=body, headers=provider)
        assert moved.status_code == 200, moved.text
    return list(client.get(f"/referrals/{referral}/follow-ups", headers=provider).json())


def test_wishes_notes_contacts_and_visit_notes_are_not_in_clear_in_the_database(
    client, case_id, coordinator, provider, auth, referral_db
) -> None:
    referral = _referral(client, case_id, coordinator, auth)
    [visit, *_] = _admitted_and_discharged(client, referral, provider)
    recorded = client.put(
        f"/referrals/{referral}/follow-ups/{visit['id']}",
        json={"visited_on": "2026-06-01", "notes": VISIT_NOTES},
        headers=provider,
    )
    client.put("/providers/me/webhook", json={"url": "https://ngo.example/hook"}, headers=provider)

    assert recorded.status_code == 200, recorded.text
    stored = _stored(referral_db)
    for canary in (WISHES, NOTES, CONTACT, VISIT_NOTES):
        assert canary.encode() not in stored, canary
    # ...while those entitled read them in clear.
    read = client.get(f"/referral-cases/{case_id}/assessment", headers=coordinator).json()
    assert (read["wishes"], read["notes"]) == (WISHES, NOTES)
    person = client.get(f"/providers/me/referrals/{referral}/person", headers=provider).json()
    assert person["wishes"] == WISHES


def test_every_read_change_and_disclosure_of_the_person_is_audited(
    client, case_id, coordinator, provider, auth
) -> None:
    referral = _referral(client, case_id, coordinator, auth)
    client.get(f"/referral-cases/{case_id}/assessment", headers=coordinator)
    client.get("/providers/me/referrals", headers=provider)
    client.get(f"/providers/me/referrals/{referral}", headers=provider)
    client.post(f"/referrals/{referral}/accept", headers=provider)
    client.get(f"/providers/me/referrals/{referral}/person", headers=provider)

    assert _audit(client, auth, case_id) == [
        ("mosvy", "write", "needs_assessment", "needs_assessment"),
        ("mosvy", "read", "needs_assessment", "case_management"),
        ("ngo-shelter-a", "disclose", "needs_assessment", "aftercare"),
    ]
    assert _audit(client, auth, referral) == [
        ("mosvy", "write", "referral", "referral_lifecycle"),  # submitted
        ("mosvy", "write", "referral", "referral_lifecycle"),  # signed off: sent
        ("mosvy", "disclose", "referral", "referral_notice"),  # the notice to the NGO
        ("ngo-shelter-a", "read", "referral", "provider_feed"),
        ("ngo-shelter-a", "read", "referral", "provider_referral"),
        ("ngo-shelter-a", "write", "referral", "referral_lifecycle"),  # accepted
    ]


def test_a_read_the_audit_refuses_is_not_served(client, case_id, coordinator, auth) -> None:
    entries = len(_audit(client, auth, case_id))
    analyst = client.get(f"/referral-cases/{case_id}/assessment", headers=auth("mosvy", "analyst"))

    assert analyst.status_code == 403
    assert len(_audit(client, auth, case_id)) == entries


@pytest.mark.parametrize(
    "path",
    ["/providers/me/referrals/{id}", "/providers/me/referrals/{id}/person"],
)
def test_the_providers_routes_serve_the_addressee_only_even_to_a_coordinator(
    client, case_id, coordinator, provider, auth, path
) -> None:
    referral = _referral(client, case_id, coordinator, auth)
    client.post(f"/referrals/{referral}/accept", headers=provider)
    # A MOSVY officer who also holds provider_staff is not the NGO the referral is for.
    both = auth("mosvy", "case_manager", "provider_staff")
    other_ngo = auth("ngo-shelter-b", "provider_staff")

    assert client.get(path.format(id=referral), headers=both).status_code == 404
    assert client.get(path.format(id=referral), headers=other_ngo).status_code == 404
    assert client.get(path.format(id=referral), headers=provider).status_code == 200


def test_the_person_is_disclosed_only_after_acceptance_and_with_consent(
    client, case_id, coordinator, provider, auth
) -> None:
    referral = _referral(client, case_id, coordinator, auth)
    person = f"/providers/me/referrals/{referral}/person"

    before = client.get(person, headers=provider)
    client.post(f"/referrals/{referral}/accept", headers=provider)
    after = client.get(person, headers=provider)

    assert before.status_code == 409 and WISHES not in before.text
    assert after.status_code == 200 and after.json()["notes"] == NOTES
    assert ("ngo-shelter-a", "disclose", "needs_assessment", "aftercare") in _audit(
        client, auth, case_id
    )


def test_rotate_data_reseals_every_value_with_the_new_key_and_all_stay_readable(
    client, case_id, coordinator, provider, auth, referral_db, field_keys, tmp_path
) -> None:
    referral = _referral(client, case_id, coordinator, auth)
    [visit, *_] = _admitted_and_discharged(client, referral, provider)
    client.put(
        f"/referrals/{referral}/follow-ups/{visit['id']}",
        json={"visited_on": "2026-06-01", "notes": VISIT_NOTES},
        headers=provider,
    )
    client.put("/providers/me/webhook", json={"url": "https://ngo.example/hook"}, headers=provider)
    keys_file = tmp_path / "rotated-field-keys.json"
    shutil.copy(field_keys, keys_file)
    new_kid = add_key(keys_file)

    resealed = asyncio.run(
        rotate_service_data("referral", f"sqlite+aiosqlite:///{referral_db}", keys_file)
    )

    assert resealed == {
        "needs_assessment": 2,
        "referral": 1,
        "provider_endpoint": 1,
        "follow_up_visit": 1,
    }
    ring = KeyRing.load(keys_file)
    connection = sqlite3.connect(referral_db)
    try:
        wishes, notes = connection.execute(
            "SELECT wishes_sealed, notes_sealed FROM needs_assessment"
        ).fetchone()
        [contact] = connection.execute("SELECT officer_contact_sealed FROM referral").fetchone()
        [visit_notes] = connection.execute(
            "SELECT notes_sealed FROM follow_up_visit WHERE notes_sealed IS NOT NULL"
        ).fetchone()
    finally:
        connection.close()
    assert {key_id_of(v) for v in (wishes, notes, contact, visit_notes)} == {new_kid}
    place = {"table": "needs_assessment", "record_id": case_id}
    assert ring.open(wishes, **place, field="wishes_sealed") == WISHES
    assert ring.open(notes, **place, field="notes_sealed") == NOTES
    assert (
        ring.open(contact, table="referral", record_id=referral, field="officer_contact_sealed")
        == CONTACT
    )
    assert (
        ring.open(visit_notes, table="follow_up_visit", record_id=visit["id"], field="notes_sealed")
        == VISIT_NOTES
    )
