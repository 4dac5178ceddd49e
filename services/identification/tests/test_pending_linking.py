"""A legacy import and live screenings at the same time (PostgreSQL, as in production).

The import holds the person index lock from loading the index to its commit; a screening
posted meanwhile answers at once, is recorded with its linking pending (counted as a
person of its own), and the background linker links it once the import has committed:
to the imported person when it is the same person, never split from it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import col, select

from identification.app import create_app
from identification.legacy_import import importing
from identification.legacy_import.importing import import_export
from identification.legacy_import.mapping import Source, load_mapping
from identification.legacy_import.reading import read_export
from identification.person_index.arrival_lock import PERSON_INDEX_LOCK
from identification.person_index.pending import link_pending
from identification.settings import IdentificationSettings
from identification.store import LegacyRecord, PersonRecord, Screening, tables
from nrm_deploy.testing import bearer
from nrm_runtime.audit import SystemActor, record_access
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing

NGO_EXPORT = (
    "case_code,first_name,last_name,gender,date_of_birth,nationality,province,"
    "date_reported,type_of_case\n"
    "NGO-2025-1,Sreymom,Keovathana,Female,2010-05-17,Cambodian,Battambang,2025-12-01,"
    "Trafficking for sexual exploitation\n"
)
# The same person as the export's row, screened by the police in Khmer script as well.
FORM = {
    "person": {
        "given_name": "Sreymom",
        "family_name": "Keovathana",
        "given_name_khmer": "ស្រីមុំ",
        "family_name_khmer": "កែវវឌ្ឍនា",
        "sex": "female",
        "birth_date": "2010-05-17",
        "nationality": "KHM",
    },
    "encounter": {"type": "police_operation", "date": "2026-03-02", "province_code": "02"},
}
# A screening must answer in the time of a screening, not of an import.
PROMPT_SECONDS = 5.0


def _settings(database_url: str, token_keys: Path, field_keys: Path) -> IdentificationSettings:
    return IdentificationSettings(
        environment="test",
        database_url=database_url,
        kafka_bootstrap_servers="127.0.0.1:1",
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=field_keys,
        pending_link_seconds=0.2,
        statistics_min_cell=1,
    )


async def _link_state(database_url: str, screening_id: str) -> tuple[bool, str | None]:
    """Whether the screening waits for its person, and its person."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            pending = (
                await connection.execute(
                    select(Screening.linking_pending).where(col(Screening.id) == UUID(screening_id))
                )
            ).scalar_one()
            person = (
                await connection.execute(
                    select(PersonRecord.person_id).where(
                        col(PersonRecord.screening_id) == UUID(screening_id)
                    )
                )
            ).scalar_one_or_none()
    finally:
        await engine.dispose()
    return bool(pending), str(person) if person is not None else None


async def _imported_person(database_url: str) -> str:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            person = (
                await connection.execute(
                    select(PersonRecord.person_id).join(
                        LegacyRecord,
                        col(LegacyRecord.screening_id) == col(PersonRecord.screening_id),
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    return str(person)


async def _linked(database_url: str, screening_id: str) -> str:
    """The screening's person, once the background linker has linked it."""
    for _ in range(150):
        pending, person = await _link_state(database_url, screening_id)
        if not pending and person is not None:
            return person
        await asyncio.sleep(0.1)
    raise AssertionError("the pending screening was never linked")


async def _during_an_import(
    app: FastAPI,
    mint: Callable[..., str],
    database_url: str,
    keys: KeyRing,
    export_path: Path,
    pause: tuple[asyncio.Event, asyncio.Event],
) -> dict[str, Any]:
    holding, release = pause
    mapping = load_mapping(Source.NGO_JOINT)
    database = Database(database_url, service_metadata=tables, event_source="/nrm/identification")
    seen: dict[str, Any] = {}
    try:
        run = asyncio.create_task(
            import_export(
                database,
                keys,
                mapping,
                read_export(export_path, mapping, today=date(2026, 3, 2)),
                operator="data-officer@ecpat-cambodia",
            )
        )
        await asyncio.wait_for(holding.wait(), timeout=60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identification") as http:
            started = time.monotonic()
            answer = await asyncio.wait_for(
                http.post("/screenings", json=FORM, headers=bearer(mint("moi-dahtjp", "screener"))),
                timeout=60,
            )
            seen["answer_seconds"] = time.monotonic() - started
            seen["status"] = answer.status_code
            seen["screening_id"] = answer.json()["id"]
            seen["while_importing"] = await _link_state(database_url, seen["screening_id"])
            statistics = await http.get(
                "/statistics/victims", headers=bearer(mint("mosvy", "analyst"))
            )
            seen["statistics_while_importing"] = statistics.json()["total"]
            release.set()
            await run
            seen["linked_to"] = await _linked(database_url, seen["screening_id"])
            seen["imported_person"] = await _imported_person(database_url)
            statistics = await http.get(
                "/statistics/victims", headers=bearer(mint("mosvy", "analyst"))
            )
            seen["statistics_after"] = statistics.json()["total"]
    finally:
        release.set()
        await database.dispose()
    return seen


@pytest.fixture
def paused_import(monkeypatch: pytest.MonkeyPatch) -> tuple[asyncio.Event, asyncio.Event]:
    """The import stops after writing its rows, before its audit entry and commit (the
    person index lock held), until released: ``(holding, release)``."""
    holding, release = asyncio.Event(), asyncio.Event()
    audit = record_access

    async def paused(*args: Any, **kwargs: Any) -> Any:
        holding.set()
        await release.wait()
        return await audit(*args, **kwargs)

    monkeypatch.setattr(importing, "record_access", paused)
    return holding, release


def test_a_screening_during_an_import_answers_at_once_and_joins_the_imported_person(
    postgres_server, tmp_path: Path, token_keys: Path, field_keys: Path, mint, paused_import
) -> None:
    database_url = postgres_server.create_database()
    export_path = tmp_path / "ngo.csv"
    export_path.write_text(NGO_EXPORT, encoding="utf-8")
    app = create_app(_settings(database_url, token_keys, field_keys))

    with TestClient(app) as client:
        assert client.portal is not None
        seen = client.portal.call(
            _during_an_import,
            app,
            mint,
            database_url,
            KeyRing.load(field_keys),
            export_path,
            paused_import,
        )

    assert seen["status"] == 201
    assert seen["answer_seconds"] < PROMPT_SECONDS
    # Recorded without its person while the import held the index ...
    assert seen["while_importing"] == (True, None)
    # ... and counted meanwhile, as a person of its own (the import not yet committed).
    assert (seen["statistics_while_importing"]["records"],) == (1,)
    assert seen["statistics_while_importing"]["persons"] == 1
    # Linked after the import committed, to the imported record's person: one person.
    assert seen["linked_to"] == seen["imported_person"]
    assert (seen["statistics_after"]["records"], seen["statistics_after"]["persons"]) == (2, 1)


async def _waiting_on_sqlite(
    app: FastAPI,
    mint: Callable[..., str],
    database_url: str,
    keys: KeyRing,
    export_path: Path,
    pause: tuple[asyncio.Event, asyncio.Event],
) -> dict[str, Any]:
    holding, release = pause
    mapping = load_mapping(Source.NGO_JOINT)
    database = Database(database_url, service_metadata=tables, event_source="/nrm/identification")
    seen: dict[str, Any] = {}
    try:
        run = asyncio.create_task(
            import_export(
                database,
                keys,
                mapping,
                read_export(export_path, mapping, today=date(2026, 3, 2)),
                operator="data-officer@ecpat-cambodia",
            )
        )
        await asyncio.wait_for(holding.wait(), timeout=60)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://identification") as http:
            post = asyncio.create_task(
                http.post("/screenings", json=FORM, headers=bearer(mint("moi-dahtjp", "screener")))
            )
            await asyncio.sleep(1.0)
            seen["waited_for_the_import"] = not post.done()
            release.set()
            await run
            answer = await asyncio.wait_for(post, timeout=30)
        seen["status"] = answer.status_code
        seen["state"] = await _link_state(database_url, answer.json()["id"])
        seen["imported_person"] = await _imported_person(database_url)
    finally:
        release.set()
        await database.dispose()
    return seen


def test_on_sqlite_a_screening_during_an_import_waits_for_it_then_joins_its_person(
    tmp_path: Path, token_keys: Path, field_keys: Path, mint, paused_import
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'import.db'}"
    export_path = tmp_path / "ngo.csv"
    export_path.write_text(NGO_EXPORT, encoding="utf-8")
    app = create_app(_settings(database_url, token_keys, field_keys))

    with TestClient(app) as client:
        assert client.portal is not None
        seen = client.portal.call(
            _waiting_on_sqlite,
            app,
            mint,
            database_url,
            KeyRing.load(field_keys),
            export_path,
            paused_import,
        )

    # SQLite's one writer: the screening waits for the import's commit (up to the busy
    # timeout), then links at once to the imported person.
    assert seen["waited_for_the_import"]
    assert seen["status"] == 201
    assert seen["state"] == (False, seen["imported_person"])


async def _pending_on_sqlite(app: FastAPI, mint: Callable[..., str]) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://identification") as http:
        answers = [
            await http.post("/screenings", json=FORM, headers=bearer(mint(agency, "screener")))
            for agency in ("moi-dahtjp", "ngo-shelter-a")
        ]
    return [answer.status_code for answer in answers]


def test_without_an_import_a_screening_is_linked_in_its_own_request(
    tmp_path: Path, token_keys: Path, field_keys: Path, mint
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'linking.db'}"
    settings = _settings(database_url, token_keys, field_keys).model_copy(
        update={"pending_link_seconds": 3600.0}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.portal is not None
        statuses = client.portal.call(_pending_on_sqlite, app, mint)
        pending = client.portal.call(_pending_count, database_url)
        persons = client.portal.call(_persons, database_url)
    assert statuses == [201, 201]
    # No background linker ran (it looks once an hour here): linked on arrival, one person.
    assert pending == 0
    assert persons == 1


async def _pending_count(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.execute(
                text("SELECT count(*) FROM screening WHERE linking_pending")
            )
            return int(count.scalar_one())
    finally:
        await engine.dispose()


async def _persons(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            count = await connection.execute(
                text("SELECT count(DISTINCT person_id) FROM person_record")
            )
            return int(count.scalar_one())
    finally:
        await engine.dispose()


async def _link_in_order(database_url: str, keys: KeyRing, ids: list[str]) -> list[str | None]:
    """Take the screenings out of the index as if an import had held it when they
    arrived (linking pending), then run a round of the background linker."""
    await _mark_pending(database_url)
    database = Database(database_url, service_metadata=tables, event_source="/nrm/identification")
    try:
        system = SystemActor("identification", "mosvy")
        await link_pending(database, keys, system, lambda: datetime(2026, 3, 2, 4, tzinfo=UTC))
    finally:
        await database.dispose()
    return [(await _link_state(database_url, screening_id))[1] for screening_id in ids]


def test_the_linker_links_pending_screenings_into_one_person_counted_once(
    tmp_path: Path, token_keys: Path, field_keys: Path, mint
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'pending.db'}"
    settings = _settings(database_url, token_keys, field_keys).model_copy(
        update={"pending_link_seconds": 3600.0}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        ids = [
            client.post("/screenings", json=FORM, headers=bearer(mint(agency, "screener"))).json()[
                "id"
            ]
            for agency in ("moi-dahtjp", "ngo-shelter-a")
        ]
        assert client.portal is not None
        persons = client.portal.call(_link_in_order, database_url, KeyRing.load(field_keys), ids)
        pending = client.portal.call(_pending_count, database_url)
        statistics = client.get("/statistics/victims", headers=bearer(mint("mosvy", "analyst")))
    assert pending == 0
    assert None not in persons and len(set(persons)) == 1
    assert (statistics.json()["total"]["records"], statistics.json()["total"]["persons"]) == (2, 1)


async def _mark_pending(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DELETE FROM person_block_key"))
            await connection.execute(text("DELETE FROM person_link_history"))
            await connection.execute(text("DELETE FROM person_record"))
            await connection.execute(text("UPDATE screening SET linking_pending = true"))
    finally:
        await engine.dispose()


def test_a_screening_arriving_behind_pending_ones_waits_its_turn(
    tmp_path: Path, token_keys: Path, field_keys: Path, mint
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'queue.db'}"
    settings = _settings(database_url, token_keys, field_keys).model_copy(
        update={"pending_link_seconds": 3600.0}
    )
    app = create_app(settings)
    with TestClient(app) as client:
        first = client.post(
            "/screenings", json=FORM, headers=bearer(mint("moi-dahtjp", "screener"))
        )
        assert client.portal is not None
        client.portal.call(_mark_pending, database_url)
        second = client.post(
            "/screenings", json=FORM, headers=bearer(mint("ngo-shelter-a", "screener"))
        )
        states = [
            client.portal.call(_link_state, database_url, answer.json()["id"])
            for answer in (first, second)
        ]
    assert second.status_code == 201
    # Linked in the order they arrived: the later one is not matched before the earlier.
    assert states == [(True, None), (True, None)]


async def _review_while_the_index_is_held(
    client: TestClient, database_url: str, reviewer: dict[str, str], person: str, record: str
) -> list[int]:
    """An unlink asked while another session holds the person index lock (as an import
    does), then again once it is released: their statuses."""
    engine = create_async_engine(database_url)
    unlink = f"/persons/{person}/records/{record}/unlink"
    try:
        async with engine.connect() as holder:
            await holder.execute(text("SELECT pg_advisory_lock(:id)"), {"id": PERSON_INDEX_LOCK})
            held = [await asyncio.to_thread(client.post, unlink, headers=reviewer)]
            await holder.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": PERSON_INDEX_LOCK})
        after = await asyncio.to_thread(client.post, unlink, headers=reviewer)
    finally:
        await engine.dispose()
    assert all(r.json()["error"]["code"] == "import_running" for r in held)
    return [r.status_code for r in [*held, after]]


def test_a_review_decision_waits_for_no_import_and_is_refused_while_one_runs(
    postgres_server, token_keys: Path, field_keys: Path, mint
) -> None:
    database_url = postgres_server.create_database()
    app = create_app(_settings(database_url, token_keys, field_keys))
    reviewer = bearer(mint("mosvy", "competent_authority"))
    other = {**FORM, "person": {**FORM["person"], "given_name": "Dara", "birth_date": "1990-01-02"}}

    with TestClient(app) as client:
        screener = bearer(mint("moi-dahtjp", "screener"))
        first = client.post("/screenings", json=FORM, headers=screener).json()["id"]
        second = client.post("/screenings", json=other, headers=screener).json()["id"]
        person = client.portal.call(_linked, database_url, first)
        moved = client.post(
            f"/persons/{person}/records", json={"screening_id": second}, headers=reviewer
        )
        assert moved.status_code == 201, moved.text

        statuses = client.portal.call(
            _review_while_the_index_is_held, client, database_url, reviewer, person, second
        )

    # Refused while held (nothing changed), done once released.
    assert statuses == [409, 200]
