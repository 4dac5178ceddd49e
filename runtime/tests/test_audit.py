"""The audit log: every access recorded with who/what/why, chained so tampering shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, update

from nrm_runtime.audit import (
    AuditAction,
    SystemActor,
    audit_router,
    record_access,
    record_system_access,
    verify_chain,
)
from nrm_runtime.auth import OrganisationType, Principal, Role, TokenVerifier
from nrm_runtime.errors import install_error_handlers
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER, ServiceSettings
from nrm_runtime.tables import audit_chain_head_table, audit_entry_table

OFFICER = Principal(
    subject="officer-17@mosvy",
    organisation="mosvy",
    organisation_type=OrganisationType.MINISTRY,
    roles=frozenset({Role.CASE_MANAGER, Role.ANALYST}),
).acting_as((Role.CASE_MANAGER,))


async def record(database, *, resource_ids="c-1", action=AuditAction.READ, commit=True):
    async with database.unit_of_work() as uow:
        entries = await record_access(
            uow.session,
            OFFICER,
            action=action,
            resource_type="person",
            resource_ids=resource_ids,
            purpose="case_review",
        )
        if commit:
            await uow.commit()
    return entries


async def chain(database):
    async with database.session() as session:
        return await verify_chain(session)


async def stored_entries(database):
    async with database.session() as session:
        connection = await session.connection()
        rows = await connection.execute(select(audit_entry_table).order_by("sequence"))
        return [row._asdict() for row in rows]


async def test_an_entry_records_who_in_which_role_did_what_to_which_record_and_why(
    database,
) -> None:
    [entry] = await record(database, action=AuditAction.DISCLOSE, resource_ids="c-42")

    [row] = await stored_entries(database)
    assert row["sequence"] == entry.sequence == 1
    assert (row["subject"], row["organisation"], row["role"]) == (
        "officer-17@mosvy",
        "mosvy",
        "case_manager",
    )
    assert (row["action"], row["resource_type"], row["resource_id"], row["purpose"]) == (
        "disclose",
        "person",
        "c-42",
        "case_review",
    )
    assert row["recorded_at"].tzinfo is not None


async def test_the_service_acting_of_its_own_accord_is_recorded_as_the_system(
    database,
) -> None:
    settings = ServiceSettings(service_name="referral", operating_organisation="mosvy")
    async with database.unit_of_work() as uow:
        await record_system_access(
            uow.session,
            SystemActor.of(settings),
            action=AuditAction.DISCLOSE,
            resource_type="referral",
            resource_ids=["r-1", "r-2"],
            purpose="referral_expiry_reroute",
        )
        await uow.commit()

    rows = await stored_entries(database)
    assert [
        (r["subject"], r["organisation"], r["role"], r["action"], r["resource_id"], r["purpose"])
        for r in rows
    ] == [
        ("system/referral", "mosvy", "system", "disclose", "r-1", "referral_expiry_reroute"),
        ("system/referral", "mosvy", "system", "disclose", "r-2", "referral_expiry_reroute"),
    ]
    assert (await chain(database)).intact


async def test_a_system_entry_refuses_free_text_as_a_users_does(database) -> None:
    async with database.unit_of_work() as uow:
        with pytest.raises(ValueError):
            await record_system_access(
                uow.session,
                SystemActor("referral", "mosvy"),
                action=AuditAction.DISCLOSE,
                resource_type="referral",
                resource_ids="Sokha Chan",
                purpose="referral_expiry_reroute",
            )


async def test_one_entry_per_record_of_a_list_in_order(database) -> None:
    await record(database, resource_ids=["c-1", "c-2", "c-3"])

    rows = await stored_entries(database)
    assert [(r["sequence"], r["resource_id"]) for r in rows] == [(1, "c-1"), (2, "c-2"), (3, "c-3")]


async def test_an_intact_chain_verifies(database) -> None:
    for index in range(5):
        await record(database, resource_ids=f"c-{index}")

    result = await chain(database)

    assert (result.intact, result.entries, result.broken_at) == (True, 5, None)


async def test_an_empty_log_verifies(database) -> None:
    assert (await chain(database)).intact


async def test_an_entry_rolled_back_with_its_access_leaves_no_trace(database) -> None:
    await record(database, resource_ids="c-1")
    await record(database, resource_ids="c-2", commit=False)  # the access failed

    assert [r["resource_id"] for r in await stored_entries(database)] == ["c-1"]
    assert (await chain(database)).intact
    await record(database, resource_ids="c-3")
    assert (await chain(database)).entries == 2


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("subject", "someone-else@mosvy"),
        ("organisation", "moj"),
        ("action", "read"),
        ("resource_id", "c-999"),
        ("purpose", "curiosity"),
    ],
)
async def test_a_modified_entry_is_detected(database, column, value) -> None:
    for index in range(4):
        await record(database, resource_ids=f"c-{index}", action=AuditAction.EXPORT)
    async with database.engine.begin() as connection:
        await connection.execute(
            update(audit_entry_table)
            .where(audit_entry_table.c.sequence == 2)
            .values({column: value})
        )

    result = await chain(database)

    assert (result.intact, result.broken_at, result.reason) == (
        False,
        2,
        "entry content was changed",
    )


async def test_a_deleted_entry_is_detected_in_the_middle_and_at_the_end(database) -> None:
    for index in range(4):
        await record(database, resource_ids=f"c-{index}")
    async with database.engine.begin() as connection:
        await connection.execute(delete(audit_entry_table).where(audit_entry_table.c.sequence == 4))
    assert (await chain(database)).reason == "entries missing at the end"

    async with database.engine.begin() as connection:
        await connection.execute(delete(audit_entry_table).where(audit_entry_table.c.sequence == 2))
    result = await chain(database)
    assert (result.intact, result.broken_at, result.reason) == (False, 2, "entry missing")


async def test_an_entry_rewritten_with_a_recomputed_hash_breaks_the_next_link(database) -> None:
    from nrm_runtime.audit import _entry_hash

    for index in range(3):
        await record(database, resource_ids=f"c-{index}")
    [_, second, _] = await stored_entries(database)
    forged = {**second, "resource_id": "c-forged"}
    forged["entry_hash"] = _entry_hash(**{k: v for k, v in forged.items() if k != "entry_hash"})
    async with database.engine.begin() as connection:
        await connection.execute(
            update(audit_entry_table)
            .where(audit_entry_table.c.sequence == 2)
            .values(resource_id="c-forged", entry_hash=forged["entry_hash"])
        )

    result = await chain(database)

    assert (result.intact, result.broken_at) == (False, 3)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("resource_ids", "Sokha Chan"),
        ("resource_ids", "c-1; DROP TABLE audit_entry"),
        ("resource_type", "Person Name"),
        ("purpose", "looked up her sister's address"),
    ],
)
async def test_text_that_could_hold_personal_data_is_refused(database, field, value) -> None:
    arguments = {"resource_type": "person", "resource_ids": "c-1", "purpose": "case_review"}
    arguments[field] = value

    with pytest.raises(ValueError):
        async with database.unit_of_work() as uow:
            await record_access(uow.session, OFFICER, action=AuditAction.READ, **arguments)

    assert await stored_entries(database) == []


async def test_concurrent_writers_do_not_fork_the_chain(database) -> None:
    async def writer(name: str) -> None:
        for index in range(8):
            await record(database, resource_ids=f"{name}-{index}")

    await asyncio.gather(*(writer(f"w{n}") for n in range(4)))

    result = await chain(database)
    rows = await stored_entries(database)
    assert (result.intact, result.entries) == (True, 32)
    assert len({row["previous_hash"] for row in rows}) == 32
    async with database.session() as session:
        head = (await (await session.connection()).execute(select(audit_chain_head_table))).one()
    assert (head.length, head.last_hash) == (32, rows[-1]["entry_hash"])


# --- the auditors' routes ---------------------------------------------------------------


@pytest.fixture
def audit_app(database, token_keys: Path) -> FastAPI:
    app = FastAPI()
    app.state.database = database
    app.state.token_verifier = TokenVerifier(
        token_keys / "dev-jwks.json",
        issuer=DEV_ISSUER,
        audience=DEFAULT_AUDIENCE,
        algorithms=("ES256",),
    )
    install_error_handlers(app)
    app.include_router(audit_router())
    return app


def client_of(app: FastAPI) -> httpx.AsyncClient:
    """In the test's own event loop: the database's connections belong to it."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://audit")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_an_auditor_pages_through_a_records_entries(audit_app, database, mint) -> None:
    for index in range(5):
        await record(database, resource_ids=["c-1", f"c-other-{index}"])
    auditor = bearer(mint("mosvy", "auditor"))

    async with client_of(audit_app) as client:
        first = await client.get(
            "/audit", params={"resource_id": "c-1", "limit": 3}, headers=auditor
        )
        second = await client.get(
            "/audit",
            params={"resource_id": "c-1", "limit": 3, "cursor": first.json()["next_cursor"]},
            headers=auditor,
        )

    assert first.status_code == second.status_code == 200
    pages = [first.json()["items"], second.json()["items"]]
    assert [len(page) for page in pages] == [3, 2]
    assert {item["resource_id"] for page in pages for item in page} == {"c-1"}
    assert second.json()["next_cursor"] is None
    sequences = [item["sequence"] for page in pages for item in page]
    assert sequences == sorted(sequences)


async def test_an_auditor_sees_whether_the_chain_is_intact(audit_app, database, mint) -> None:
    await record(database, resource_ids=["c-1", "c-2"])

    async with client_of(audit_app) as client:
        response = await client.get("/audit/chain", headers=bearer(mint("mosvy", "auditor")))

    assert response.json() == {"intact": True, "entries": 2, "broken_at": None, "reason": None}


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.AUDITOR])
@pytest.mark.parametrize("path", ["/audit", "/audit/chain"])
async def test_only_auditors_read_the_log(audit_app, database, mint, role, path) -> None:
    await record(database)

    async with client_of(audit_app) as client:
        response = await client.get(path, headers=bearer(mint("mosvy", role)))

    assert response.status_code == 403
    assert "items" not in response.json()


async def test_the_log_needs_a_token(audit_app) -> None:
    async with client_of(audit_app) as client:
        assert (await client.get("/audit")).status_code == 401


@pytest.mark.parametrize(
    "params",
    [{"resource_id": "Sokha Chan"}, {"resource_type": "Bad Type"}, {"cursor": "bm90LWpzb24"}],
)
async def test_a_malformed_query_is_422(audit_app, mint, params) -> None:
    async with client_of(audit_app) as client:
        response = await client.get(
            "/audit", params=params, headers=bearer(mint("mosvy", "auditor"))
        )

    assert response.status_code == 422
    assert "error" in response.json()
