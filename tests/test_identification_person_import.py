"""The legacy import against the running identification service and its real database:
a person screened live through the API, and the same person in the police's historical
export written in Latin letters, are one person in the authoritative count."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nrm_deploy.testing import bearer

POLICE_EXPORT = (
    "victim_ref,victim_surname,victim_name,sex,date_of_birth,nationality,"
    "province_of_operation,operation_date,exploitation\n"
    # The person of the live screening, romanised by a police officer in 2024.
    "PP-2024-0031-V1,Chan,Sok Kha,F,09/03/2004,Cambodian,Phnom Penh,14/06/2024,prostitution\n"
)
SCREENED_IN_KHMER = {
    "person": {
        "given_name_khmer": "សុខា",
        "family_name_khmer": "ចាន់",
        "sex": "female",
        "birth_date": "2004-03-09",
        "nationality": "KHM",
    },
    "encounter": {"type": "ngo_outreach", "date": "2026-11-20", "province_code": "12"},
}


def nrm_import(
    export: Path, database_url: str, field_keys: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "nrm_runtime.cli",
            "import",
            str(export),
            "--source",
            "police-case",
            "--database-url",
            database_url,
            "--field-keys-file",
            str(field_keys),
            "--operator",
            "records-officer@moi-dahtjp",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])
def test_a_live_screening_and_a_police_legacy_record_of_one_person_count_once(
    start_service, mint, token_keys: Path, tmp_path: Path, database_kind: str
) -> None:
    identification = start_service("identification", wait_for="/readyz", statistics_min_cell="1")
    screened = httpx.post(
        f"{identification.url}/screenings",
        json=SCREENED_IN_KHMER,
        headers=bearer(mint("ngo-shelter-a", "screener")),
    )
    assert screened.status_code == 201, screened.text
    export = tmp_path / "police-victims.csv"
    export.write_text(POLICE_EXPORT, encoding="utf-8")

    database_url = identification.environment()["IDENTIFICATION_DATABASE_URL"]
    imported = nrm_import(export, database_url, token_keys / "field-keys.json")

    assert imported.returncode == 0, imported.stderr
    assert "auto-linked: 1" in imported.stdout and "new persons: 0" in imported.stdout
    statistics = httpx.get(
        f"{identification.url}/statistics/victims",
        params={"group_by": "agency"},
        headers=bearer(mint("mosvy", "analyst")),
    )
    assert statistics.status_code == 200, statistics.text
    body = statistics.json()
    assert body["total"] == {"records": 2, "persons": 1, "suppressed": False}
    assert {cell["group"]["agency"]: cell["persons"] for cell in body["cells"]} == {
        "moi-dahtjp": 1,
        "ngo-shelter-a": 1,
    }
    again = nrm_import(export, database_url, token_keys / "field-keys.json")
    assert again.returncode == 0 and "rows imported: 0" in again.stdout
