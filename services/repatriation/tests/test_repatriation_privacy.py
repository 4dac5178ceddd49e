"""The person's data at rest and its audit: sealed in every table, audited on every read,
write and disclosure, readable after a key rotation."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import uuid
from pathlib import Path
from typing import Any

from nrm_runtime.cli import rotate_service_data
from nrm_runtime.field_crypto import KeyRing, add_key, is_sealed, key_id_of

CANARY_GIVEN = "Canarygiven Xq7"
CANARY_FAMILY = "Canaryfamily Zr4"
CANARY_CONTACT = "Canarycontact Wp2"
NOTIFICATION = {
    "step": "notification",
    "documents": ["victim_identification_form", "consent_to_return"],
}


def _database_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    wal = path.with_name(path.name + "-wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _open_case(client, officer) -> dict[str, Any]:
    body = {
        "identification_case_id": "0b6f0f3e-6d1c-4a55-9d59-3d3b2f7c1a01",
        "counterpart_country": "VNM",
        "person": {
            "given_name": CANARY_GIVEN,
            "family_name": CANARY_FAMILY,
            "sex": "female",
            "birth_date": "2001-04-17",
        },
        "consent_to_return": {
            "status": "given",
            "basis": "own_consent",
            "recorded_on": "2026-03-02",
        },
    }
    response = client.post("/cases", json=body, headers=officer)
    assert response.status_code == 201, response.text
    return response.json()


def _audit(client, auth, case_id: str) -> list[tuple[str, str, str]]:
    response = client.get(
        "/audit", params={"resource_id": case_id}, headers=auth("mosvy", "auditor")
    )
    assert response.status_code == 200, response.text
    return [(e["organisation"], e["action"], e["purpose"]) for e in response.json()["items"]]


def test_names_birth_date_contacts_and_message_bodies_are_not_in_clear_in_the_database(
    client, officer, agency, repatriation_db, liaison_rows
) -> None:
    case = _open_case(client, officer)
    sent = client.post(f"/cases/{case['id']}/steps", json=NOTIFICATION, headers=officer)
    vietnam = agency("vnm-molisa", "VNM")
    acknowledged = vietnam.step(
        case["id"], "receipt_acknowledged", details={"contact_name": CANARY_CONTACT}
    )

    stored = _database_bytes(repatriation_db)
    for canary in (CANARY_GIVEN, CANARY_FAMILY, CANARY_CONTACT, "2001-04-17"):
        assert canary.encode() not in stored, canary
    # ...while the parties read them in clear.
    assert sent.status_code == 201 and acknowledged.status_code == 201, acknowledged.text
    view = vietnam.get(f"/liaison/cases/{case['id']}").json()
    assert view["person"]["given_name"] == CANARY_GIVEN
    assert view["person"]["birth_date"] == "2001-04-17"
    assert all(is_sealed(row["sealed_body"]) for row in liaison_rows())


def test_every_read_write_and_disclosure_of_the_person_is_audited(
    client, officer, auth, agency
) -> None:
    case = _open_case(client, officer)
    client.get(f"/cases/{case['id']}", headers=officer)
    client.post(f"/cases/{case['id']}/steps", json=NOTIFICATION, headers=officer)
    vietnam = agency("vnm-molisa", "VNM")
    vietnam.get(f"/liaison/cases/{case['id']}")
    vietnam.get(f"/liaison/cases/{case['id']}/timeline")

    entries = _audit(client, auth, case["id"])

    assert entries[:4] == [
        ("mosvy", "write", "case_opening"),
        ("mosvy", "read", "case_review"),
        ("mosvy", "write", "case_step"),
        ("mosvy", "disclose", "counterpart_liaison"),
    ]
    assert entries.count(("vnm-molisa", "read", "liaison_review")) == 2


def test_the_notification_carries_the_person_to_the_counterpart_as_a_disclosure(
    client, officer, auth, liaison_rows
) -> None:
    case = _open_case(client, officer)
    response = client.post(f"/cases/{case['id']}/steps", json=NOTIFICATION, headers=officer)

    assert response.status_code == 201, response.text
    assert ("mosvy", "disclose", "counterpart_liaison") in _audit(client, auth, case["id"])
    [sent] = liaison_rows("sent")
    assert CANARY_GIVEN in sent["body"] and CANARY_GIVEN not in sent["sealed_body"]


def test_audit_entries_are_for_auditors_only(client, auth) -> None:
    response = client.get("/audit", headers=auth("mosvy", "case_manager"))

    assert response.status_code == 403


def test_rotate_data_reseals_every_value_with_the_new_key_and_all_stay_readable(
    client, officer, agency, token_keys, repatriation_db, tmp_path
) -> None:
    case = _open_case(client, officer)
    client.post(f"/cases/{case['id']}/steps", json=NOTIFICATION, headers=officer)
    agency("vnm-molisa", "VNM").step(
        case["id"], "receipt_acknowledged", details={"contact_name": CANARY_CONTACT}
    )
    keys_file = tmp_path / "field-keys.json"
    shutil.copy(token_keys / "field-keys.json", keys_file)
    new_kid = add_key(keys_file)

    resealed = asyncio.run(
        rotate_service_data("repatriation", f"sqlite+aiosqlite:///{repatriation_db}", keys_file)
    )

    assert resealed["repatriation_case"] == 3  # names and birth date
    assert resealed["repatriation_step"] == 1 and resealed["liaison_message"] >= 2
    ring = KeyRing.load(keys_file)
    connection = sqlite3.connect(repatriation_db)
    try:
        given_name, birth = connection.execute(
            "SELECT given_name, birth_date FROM repatriation_case"
        ).fetchone()
        bodies = connection.execute("SELECT id, body FROM liaison_message").fetchall()
    finally:
        connection.close()
    assert key_id_of(given_name) == new_kid
    record = case["id"]
    opened = ring.open(given_name, table="repatriation_case", record_id=record, field="given_name")
    assert opened == CANARY_GIVEN
    for message_id, body in bodies:
        assert key_id_of(body) == new_kid
        assert ring.open(body, table="liaison_message", record_id=_uuid(message_id), field="body")
    assert key_id_of(birth) == new_kid


def _uuid(text: str) -> str:
    return str(uuid.UUID(text))
