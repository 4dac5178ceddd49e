"""The person's names, aliases, birth date and document numbers, the screening's notes
and a decision's grounds are sealed at rest, opened only for an audited read, and
re-sealed by a key rotation."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from identification.app import create_app
from identification.store import SEALED_FIELDS
from nrm_runtime.field_crypto import FieldCryptoError, KeyRing, add_key
from nrm_runtime.field_rotation import rotate_sealed_values

DOCUMENT = {"kind": "passport", "status": "confiscated", "number": "N0123"}
NOTES = {
    "acts": ["recruitment"],
    "act_notes": "recruited by her uncle Sokhom in Poipet",
    "means": ["deception_or_false_promises"],
    "means_notes": "promised a restaurant job in Bangkok",
    "purposes": ["sexual_exploitation"],
    "purpose_notes": "held in a karaoke bar on Street 51",
}
GROUNDS = "reasonable grounds: her account of the karaoke bar on Street 51"
PERSONAL = (
    "Sreymom",
    "Keovathana",
    "ស្រីមុំ",
    "កែវវឌ្ឍនា",
    "Mom",
    "2010-05-17",
    "N0123",
    "uncle Sokhom",
    "restaurant job",
    "Street 51",
)
SEALED_VALUES_PER_SCREENING = 9  # 4 names, aliases, birth date, 3 notes


def _decide(client, auth, case_id: str):
    response = client.post(
        f"/cases/{case_id}/decisions",
        json={"stage": "preliminary", "outcome": "identified", "rationale": GROUNDS},
        headers=auth("mosvy", "competent_authority"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_no_personal_value_is_stored_in_clear(client, auth, screen, table_rows) -> None:
    recorded = screen(aliases=["Mom"], identity_documents=[DOCUMENT], indicators=NOTES)
    _decide(client, auth, recorded["case_id"])

    tables = ("screening", "identity_document", "screening_name_key", "person_block_key")
    for table in (*tables, "decision"):
        stored = " ".join(str(value) for row in table_rows(table) for value in tuple(row))
        for value in PERSONAL:
            assert value not in stored, (table, value)
    [screening] = table_rows("screening")
    assert screening["given_name_sealed"].startswith("v1.")
    assert screening["purpose_notes_sealed"].startswith("v1.")
    [decision] = table_rows("decision")
    assert decision["rationale_sealed"].startswith("v1.")


def test_the_notes_and_the_grounds_read_back_opened(client, auth, screen) -> None:
    recorded = screen(indicators=NOTES)
    decided = _decide(client, auth, recorded["case_id"])

    screening = client.get(
        f"/screenings/{recorded['id']}", headers=auth("moi-dahtjp", "screener")
    ).json()
    case = client.get(
        f"/cases/{recorded['case_id']}", headers=auth("moi-dahtjp", "screener")
    ).json()

    notes = {key: value for key, value in NOTES.items() if key.endswith("_notes")}
    assert {key: screening["indicators"][key] for key in notes} == notes
    assert decided["rationale"] == GROUNDS
    assert case["decisions"][0]["rationale"] == GROUNDS


def test_a_sealed_note_copied_to_another_screening_does_not_open(
    client, auth, screen, identification_db
) -> None:
    first = screen(indicators=NOTES)
    second = screen("moi-dahtjp", given_name="Dara", family_name="Sok")
    connection = sqlite3.connect(identification_db)
    try:
        connection.execute(
            "UPDATE screening SET act_notes_sealed = "
            "(SELECT act_notes_sealed FROM screening WHERE id = ?) WHERE id = ?",
            (first["id"].replace("-", ""), second["id"].replace("-", "")),
        )
        connection.commit()
    finally:
        connection.close()

    with pytest.raises(FieldCryptoError, match=r"act_notes_sealed .* does not open"):
        client.get(f"/screenings/{second['id']}", headers=auth("moi-dahtjp", "screener"))


def test_the_screening_reads_back_opened(client, auth, screen) -> None:
    recorded = screen(aliases=["Mom"], identity_documents=[DOCUMENT])

    body = client.get(
        f"/screenings/{recorded['id']}", headers=auth("moi-dahtjp", "screener")
    ).json()

    assert body["person"]["given_name"] == "Sreymom"
    assert body["person"]["family_name_khmer"] == "កែវវឌ្ឍនា"
    assert body["person"]["aliases"] == ["Mom"]
    assert body["person"]["birth_date"] == "2010-05-17"
    assert body["person"]["identity_documents"][0]["number"] == "N0123"


def test_recording_and_reading_a_screening_are_audited(client, auth, screen) -> None:
    recorded = screen()
    client.get(f"/screenings/{recorded['id']}", headers=auth("mosvy", "competent_authority"))

    entries = client.get(
        "/audit", params={"resource_id": recorded["id"]}, headers=auth("mosvy", "auditor")
    ).json()["items"]

    assert [(e["action"], e["organisation"]) for e in entries] == [
        ("write", "moi-dahtjp"),
        ("read", "mosvy"),
    ]


def test_a_key_rotation_reseals_every_sealed_column(
    client, screen, identification_settings, field_keys, clock, auth
) -> None:
    recorded = screen(aliases=["Mom"], identity_documents=[DOCUMENT], indicators=NOTES)
    _decide(client, auth, recorded["case_id"])
    client.__exit__(None, None, None)  # the service stops before its keys rotate
    add_key(field_keys)
    ring = KeyRing.load(field_keys)

    async def rotate() -> dict[str, int]:
        engine = create_async_engine(identification_settings.database_url)
        try:
            return (await rotate_sealed_values(engine, ring, SEALED_FIELDS)).resealed
        finally:
            await engine.dispose()

    resealed = asyncio.run(rotate())

    assert resealed == {
        "screening": SEALED_VALUES_PER_SCREENING,
        "identity_document": 1,
        "decision": 1,
    }
    with TestClient(create_app(identification_settings, clock=clock)) as restarted:
        body = restarted.get(
            f"/screenings/{recorded['id']}", headers=auth("moi-dahtjp", "screener")
        ).json()
        case = restarted.get(
            f"/cases/{recorded['case_id']}", headers=auth("moi-dahtjp", "screener")
        ).json()
    assert body["person"]["aliases"] == ["Mom"]
    assert body["indicators"]["means_notes"] == NOTES["means_notes"]
    assert case["decisions"][0]["rationale"] == GROUNDS
