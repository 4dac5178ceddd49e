"""Concurrent arrivals: screenings of one person committed at the same instant (several
agencies' officers pressing "save" together) link to one person, never start several.
Linking is serialised on the records' block keys: advisory locks on PostgreSQL, the one
writer's lock on SQLite."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from identification.app import create_app
from identification.person_index.arrival_lock import advisory_lock_ids
from identification.settings import IdentificationSettings
from nrm_deploy.testing import bearer

ARRIVALS = 8
AGENCIES = ["moi-dahtjp", "moi-immigration", "ngo-shelter-a", "ngo-legal-aid"]


def _form(agency_index: int) -> dict[str, Any]:
    return {
        "person": {
            "given_name": "Sokunthea",
            "family_name": "Prum",
            "sex": "female",
            "birth_date": "2003-08-14",
            "nationality": "KHM",
        },
        "encounter": {
            "type": "police_operation" if agency_index < 2 else "ngo_outreach",
            "date": "2026-03-02",
            "province_code": "02",
        },
    }


async def _all_at_once(app: Any, mint: Callable[..., str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://identification") as http:
        return list(
            await asyncio.gather(
                *(
                    http.post(
                        "/screenings",
                        json=_form(n % len(AGENCIES)),
                        headers=bearer(mint(AGENCIES[n % len(AGENCIES)], "screener")),
                    )
                    for n in range(ARRIVALS)
                )
            )
        )


async def _persons(database_url: str) -> tuple[int, int, bool]:
    """Records, persons, and whether ``person_word`` follows the records."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            records = (await connection.execute(text("SELECT count(*) FROM person_record"))).one()
            persons = (
                await connection.execute(
                    text("SELECT count(DISTINCT person_id) FROM person_record")
                )
            ).one()
            kept = set(
                (await connection.execute(text("SELECT digest, person_id FROM person_word"))).all()
            )
            derived = set(
                (
                    await connection.execute(
                        text(
                            "SELECT DISTINCT k.digest, r.person_id FROM person_block_key k "
                            "JOIN person_record r ON r.screening_id = k.screening_id "
                            "WHERE k.counted"
                        )
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    return int(records[0]), int(persons[0]), bool(kept) and kept == derived


@pytest.mark.parametrize("database_kind", ["sqlite", "postgresql"])
def test_simultaneous_screenings_of_one_person_make_one_person(
    request, database_kind, tmp_path: Path, token_keys: Path, field_keys: Path, mint
) -> None:
    if database_kind == "postgresql":
        database_url = request.getfixturevalue("postgres_server").create_database()
    else:
        database_url = f"sqlite+aiosqlite:///{tmp_path / 'race.db'}"
    settings = IdentificationSettings(
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers="127.0.0.1:1",
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=field_keys,
    )
    app = create_app(settings)

    with TestClient(app) as client:
        assert client.portal is not None
        answers = client.portal.call(_all_at_once, app, mint)
        counted = client.portal.call(_persons, database_url)

    assert sorted(answer.status_code for answer in answers) == [201] * ARRIVALS, [
        answer.text for answer in answers if answer.status_code != 201
    ]
    # One person, and the persons counted per word as the records say, though the
    # arrivals refreshed them at once.
    assert counted == (ARRIVALS, 1, True)


@pytest.mark.parametrize(
    ("digests", "locks"),
    [
        (["0" * 64], [0]),
        (["f" * 64], [-1]),  # the top half of the hex range is negative in a bigint
        (["00000000000000ff" + "a" * 48, "0000000000000001" + "b" * 48], [1, 255]),
        (["0000000000000002" + "c" * 48, "0000000000000002" + "d" * 48], [2]),
    ],
)
def test_advisory_locks_are_bigints_in_one_order_without_repeats(digests, locks) -> None:
    assert advisory_lock_ids(digests) == locks
