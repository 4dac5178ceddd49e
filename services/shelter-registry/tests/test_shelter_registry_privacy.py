"""Facility contacts at rest: sealed in the database, given back in clear by the API,
sealed at start when a registry from before holds them in clear, and readable after a
key rotation."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nrm_runtime.cli import rotate_service_data
from nrm_runtime.field_crypto import FieldCryptoError, KeyRing, add_key, is_sealed, key_id_of

PHONE = "+855 97 731 0042"
EMAIL = "canary.office@kdei.example"
ADDRESS = "Canary Street 17, Sangkat Boeung Keng Kang"
COLUMNS = ("contact_phone", "contact_email", "contact_address")


def _facility(**contacts: str) -> dict[str, Any]:
    return {
        "organisation_id": "ngo-kdei",
        "name": "Contacts House",
        "facility_type": "residential_shelter",
        "services": ["safe_accommodation"],
        "eligibility": {
            "sexes": ["female"],
            "min_age": 18,
            "max_age": 60,
            "exploitation_types": ["forced_labour"],
            "nationalities": [],
        },
        "languages": ["km"],
        "location": {"province_code": "12"},
        "contacts": contacts,
        "beds_total": 4,
    }


def _stored(registry_db: Path) -> bytes:
    wal = registry_db.with_name(registry_db.name + "-wal")
    return registry_db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _contact_rows(registry_db: Path) -> list[tuple[str, str | None, str | None, str | None]]:
    connection = sqlite3.connect(registry_db)
    try:
        return connection.execute(
            "SELECT id, contact_phone, contact_email, contact_address FROM facility"
        ).fetchall()
    finally:
        connection.close()


def test_contacts_are_sealed_in_the_database_and_given_back_in_clear(
    client, auth, registry_db
) -> None:
    staff = auth("ngo-kdei", "provider_staff")
    created = client.post(
        "/facilities", json=_facility(phone=PHONE, email=EMAIL, address=ADDRESS), headers=staff
    )
    changed = client.patch(
        f"/facilities/{created.json()['id']}",
        json={"contacts": {"phone": "+855 97 731 0043", "email": EMAIL}},
        headers=staff,
    )

    assert created.status_code == 201, created.text
    assert created.json()["contacts"] == {"phone": PHONE, "email": EMAIL, "address": ADDRESS}
    assert changed.json()["contacts"] == {
        "phone": "+855 97 731 0043",
        "email": EMAIL,
        "address": None,
    }
    stored = _stored(registry_db)
    for canary in (PHONE, "+855 97 731 0043", EMAIL, ADDRESS):
        assert canary.encode() not in stored, canary
    # The reference facilities' contacts are sealed too (loaded through the same path).
    values = [v for row in _contact_rows(registry_db) for v in row[1:] if v is not None]
    assert len(values) > 10 and all(is_sealed(value) for value in values)


def test_a_sealed_contact_moved_onto_another_facility_does_not_open(
    client, auth, registry_db, facility_id
) -> None:
    staff = auth("ngo-kdei", "provider_staff")
    created = client.post("/facilities", json=_facility(phone=PHONE), headers=staff).json()
    keys: KeyRing = client.app.state.shelter_registry.keys  # type: ignore[attr-defined]
    sealed = keys.seal(PHONE, table="facility", record_id=created["id"], field="contact_phone")

    other = facility_id("poipet-transit-centre")
    assert keys.open(sealed, table="facility", record_id=created["id"], field="contact_phone")
    with pytest.raises(FieldCryptoError, match="does not open"):
        keys.open(sealed, table="facility", record_id=other, field="contact_phone")


def test_contacts_stored_in_clear_before_sealing_are_sealed_at_start(
    make_app, auth, registry_db
) -> None:
    with TestClient(make_app()) as client:
        created = client.post(
            "/facilities",
            json=_facility(phone=PHONE, email=EMAIL),
            headers=auth("ngo-kdei", "provider_staff"),
        ).json()
    connection = sqlite3.connect(registry_db)
    try:  # as a registry from before the contacts were sealed holds them
        connection.execute(
            "UPDATE facility SET contact_phone = ?, contact_email = ? WHERE id = ?",
            (PHONE, EMAIL, uuid.UUID(created["id"]).hex),
        )
        connection.commit()
    finally:
        connection.close()

    with TestClient(make_app()) as client:
        read = client.get(f"/facilities/{created['id']}", headers=auth("mosvy", "admin"))

    assert read.status_code == 200, read.text
    assert read.json()["contacts"]["phone"] == PHONE
    assert PHONE.encode() not in _stored(registry_db)
    assert EMAIL.encode() not in _stored(registry_db)


def test_rotate_data_reseals_every_contact_with_the_new_key_and_all_stay_readable(
    client, auth, registry_db, token_keys, tmp_path
) -> None:
    created = client.post(
        "/facilities",
        json=_facility(phone=PHONE, email=EMAIL, address=ADDRESS),
        headers=auth("ngo-kdei", "provider_staff"),
    ).json()
    keys_file = tmp_path / "field-keys.json"
    shutil.copy(token_keys / "field-keys.json", keys_file)
    new_kid = add_key(keys_file)

    resealed = asyncio.run(
        rotate_service_data("shelter-registry", f"sqlite+aiosqlite:///{registry_db}", keys_file)
    )

    rows = _contact_rows(registry_db)
    values = [v for row in rows for v in row[1:] if v is not None]
    assert resealed["facility"] == len(values) > 3
    assert all(key_id_of(value) == new_kid for value in values)
    ring = KeyRing.load(keys_file)
    for row in rows:
        record = str(uuid.UUID(row[0]))
        for column, value in zip(COLUMNS, row[1:], strict=True):
            if value is not None:
                assert ring.open(value, table="facility", record_id=record, field=column)
    [mine] = [row for row in rows if str(uuid.UUID(row[0])) == created["id"]]
    assert (
        ring.open(mine[3], table="facility", record_id=created["id"], field="contact_address")
        == ADDRESS
    )
