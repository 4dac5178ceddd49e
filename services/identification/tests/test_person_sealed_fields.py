"""The person's names, aliases, birth date and document numbers are sealed at rest,
opened only for an audited read, and re-sealed by a key rotation."""

from __future__ import annotations

import asyncio

from fastapi.testclient import TestClient
from sqlalchemy.ext.asyncio import create_async_engine

from identification.app import create_app
from identification.store import SEALED_FIELDS
from nrm_runtime.field_crypto import KeyRing, add_key
from nrm_runtime.field_rotation import rotate_sealed_values

PERSONAL = ("Sreymom", "Keovathana", "ស្រីមុំ", "កែវវឌ្ឍនា", "Mom", "2010-05-17", "N0123")
DOCUMENT = {"kind": "passport", "status": "confiscated", "number": "N0123"}


def test_no_personal_value_is_stored_in_clear(screen, table_rows) -> None:
    screen(aliases=["Mom"], identity_documents=[DOCUMENT])

    for table in ("screening", "identity_document", "screening_name_key", "person_block_key"):
        stored = " ".join(str(value) for row in table_rows(table) for value in tuple(row))
        for value in PERSONAL:
            assert value not in stored, (table, value)
    [screening] = table_rows("screening")
    assert screening["given_name_sealed"].startswith("v1.")


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
    recorded = screen(aliases=["Mom"], identity_documents=[DOCUMENT])
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

    assert resealed == {"screening": 6, "identity_document": 1}
    with TestClient(create_app(identification_settings, clock=clock)) as restarted:
        body = restarted.get(
            f"/screenings/{recorded['id']}", headers=auth("moi-dahtjp", "screener")
        ).json()
    assert body["person"]["aliases"] == ["Mom"]
