"""The audit log: every access recorded with who/what/why, in a verifiable log (a Merkle
tree whose signed heads are published) so that tampering shows."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import delete, select, text, update

from nrm_contracts import Envelope
from nrm_contracts.events.audit import ReferralAuditTreeHead
from nrm_runtime import audit_tree, merkle
from nrm_runtime.audit import (
    AuditAction,
    SystemActor,
    audit_router,
    record_access,
    record_system_access,
    verify_chain,
)
from nrm_runtime.audit_heads import HeadSigner, SignedTreeHead
from nrm_runtime.audit_sequencer import AuditSequencer
from nrm_runtime.auth import OrganisationType, Principal, Role, TokenVerifier
from nrm_runtime.database import Database
from nrm_runtime.errors import install_error_handlers
from nrm_runtime.settings import DEFAULT_AUDIENCE, DEV_ISSUER, ServiceSettings
from nrm_runtime.tables import audit_entry_table, audit_tree_state_table, outbox_table

OFFICER = Principal(
    subject="officer-17@mosvy",
    organisation="mosvy",
    organisation_type=OrganisationType.MINISTRY,
    roles=frozenset({Role.CASE_MANAGER, Role.ANALYST}),
).acting_as((Role.CASE_MANAGER,))
SIGNER = HeadSigner.ephemeral()


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


def sequencer_of(database, signer: HeadSigner = SIGNER, **options) -> AuditSequencer:
    return AuditSequencer(
        database, signer, log_id="referral", head_event=ReferralAuditTreeHead, **options
    )


async def integrate(database, signer: HeadSigner = SIGNER) -> SignedTreeHead | None:
    return await sequencer_of(database, signer).integrate_all()


async def chain(database, **options):
    async with database.session() as session:
        return await verify_chain(session, **options)


async def stored_entries(database):
    async with database.session() as session:
        connection = await session.connection()
        rows = await connection.execute(select(audit_entry_table).order_by("id"))
        return [row._asdict() for row in rows]


async def tamper(database, statement) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(statement)


async def test_an_entry_records_who_in_which_role_did_what_to_which_record_and_why(
    database,
) -> None:
    [entry] = await record(database, action=AuditAction.DISCLOSE, resource_ids="c-42")
    await integrate(database)

    [row] = await stored_entries(database)
    assert entry.sequence is None  # placed in the tree by the sequencer, after the access
    assert row["sequence"] == 1
    assert row["entry_hash"] == entry.entry_hash
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
    await integrate(database)

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
    await integrate(database)

    rows = await stored_entries(database)
    assert [(r["sequence"], r["resource_id"]) for r in rows] == [(1, "c-1"), (2, "c-2"), (3, "c-3")]


async def test_an_intact_log_verifies(database) -> None:
    for index in range(5):
        await record(database, resource_ids=f"c-{index}")
        if index % 2:
            await integrate(database)
    await integrate(database)

    result = await chain(database)

    assert (result.intact, result.entries, result.broken_at) == (True, 5, None)


async def test_an_empty_log_verifies(database) -> None:
    assert (await chain(database)).intact
    assert await integrate(database) is None  # nothing to sign


async def test_an_entry_rolled_back_with_its_access_leaves_no_trace(database) -> None:
    await record(database, resource_ids="c-1")
    await record(database, resource_ids="c-2", commit=False)  # the access failed
    await integrate(database)

    assert [r["resource_id"] for r in await stored_entries(database)] == ["c-1"]
    assert (await chain(database)).intact
    await record(database, resource_ids="c-3")
    await integrate(database)
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
    await integrate(database)
    await tamper(
        database,
        update(audit_entry_table).where(audit_entry_table.c.sequence == 2).values({column: value}),
    )

    result = await chain(database)

    assert (result.intact, result.broken_at, result.reason) == (
        False,
        2,
        "entry content was changed",
    )


async def test_an_entry_modified_before_the_sequencer_placed_it_is_detected(database) -> None:
    await record(database, resource_ids="c-1")
    await tamper(database, update(audit_entry_table).values(purpose="curiosity"))

    result = await chain(database)

    assert (result.intact, result.reason) == (False, "entry content was changed")


async def test_a_deleted_entry_is_detected_in_the_middle_and_at_the_end(database) -> None:
    for index in range(4):
        await record(database, resource_ids=f"c-{index}")
    await integrate(database)
    await tamper(database, delete(audit_entry_table).where(audit_entry_table.c.sequence == 4))
    assert (await chain(database)).reason == "entries missing at the end"

    await tamper(database, delete(audit_entry_table).where(audit_entry_table.c.sequence == 2))
    result = await chain(database)
    assert (result.intact, result.broken_at, result.reason) == (False, 2, "entry missing")


async def test_an_entry_rewritten_with_a_recomputed_hash_breaks_the_signed_head(database) -> None:
    from nrm_runtime.audit import _entry_hash

    for index in range(3):
        await record(database, resource_ids=f"c-{index}")
    await integrate(database)
    [_, second, _] = await stored_entries(database)
    content = {k: v for k, v in second.items() if k not in {"id", "sequence", "entry_hash"}}
    forged = _entry_hash(**{**content, "resource_id": "c-forged"})
    await tamper(
        database,
        update(audit_entry_table)
        .where(audit_entry_table.c.sequence == 2)
        .values(resource_id="c-forged", entry_hash=forged),
    )

    result = await chain(database)

    assert (result.intact, result.reason) == (False, "the tree does not match its signed head")
    assert result.broken_at == 1  # somewhere in the first head's entries


async def test_concurrent_writers_are_all_placed_once(database) -> None:
    async def writer(name: str) -> None:
        for index in range(8):
            await record(database, resource_ids=f"{name}-{index}")

    await asyncio.gather(*(writer(f"w{n}") for n in range(4)))
    await integrate(database)

    result = await chain(database)
    rows = await stored_entries(database)
    assert (result.intact, result.entries) == (True, 32)
    assert sorted(row["sequence"] for row in rows) == list(range(1, 33))


async def test_two_sequencers_at_once_place_every_entry_once(database) -> None:
    for index in range(40):
        await record(database, resource_ids=f"c-{index}")
    replicas = [sequencer_of(database, batch_size=7) for _ in range(2)]

    async def drain(sequencer: AuditSequencer) -> None:
        for _ in range(40):
            if await sequencer.integrate(wait=False) is None:
                return

    await asyncio.gather(*(drain(s) for s in replicas))
    await integrate(database)

    rows = await stored_entries(database)
    assert sorted(row["sequence"] for row in rows) == list(range(1, 41))
    assert (await chain(database)).intact


async def test_each_head_is_signed_and_recorded_for_the_services_audit_topic(database) -> None:
    await record(database, resource_ids=["c-1", "c-2", "c-3"])
    head = await integrate(database)

    assert head is not None and head.verify(SIGNER.public_key)
    async with database.engine.connect() as connection:
        [row] = (await connection.execute(select(outbox_table))).all()
    envelope = Envelope.from_kafka(row.message_key.encode(), row.message_value)
    assert (row.topic, row.message_key) == ("nrm.referral.audit", "referral")
    published = SignedTreeHead.of_fields(envelope.data.model_dump())
    assert published == head
    assert published.head.tree_size == 3


async def test_a_head_from_another_key_is_not_the_logs(database) -> None:
    await record(database)
    await integrate(database)

    result = await chain(database, trusted_key=HeadSigner.ephemeral().public_key)

    assert (result.intact, result.reason) == (
        False,
        "the head of size 1 is not the log's signature",
    )


async def test_an_entrys_inclusion_and_two_heads_consistency_are_proved(database) -> None:
    await record(database, resource_ids=[f"c-{i}" for i in range(5)])
    first = await integrate(database)
    await record(database, resource_ids=[f"d-{i}" for i in range(8)])
    second = await integrate(database)
    assert first is not None and second is not None

    rows = {row["sequence"]: row for row in await stored_entries(database)}
    async with database.engine.connect() as connection:
        path = await audit_tree.inclusion_proof(connection, 4, second.head.tree_size)
        proof = await audit_tree.consistency_proof(connection, 5, 13)

    merkle.verify_inclusion(
        bytes.fromhex(rows[4]["entry_hash"]), 3, 13, path, second.head.root_hash
    )
    merkle.verify_consistency(5, 13, first.head.root_hash, second.head.root_hash, proof)
    with pytest.raises(merkle.ProofError):  # a modified entry has another leaf hash
        merkle.verify_inclusion(merkle.leaf_hash(b"c-forged"), 3, 13, path, second.head.root_hash)


async def test_a_database_rewritten_whole_is_detected_against_a_published_head(
    database,
) -> None:
    await record(database, resource_ids=["c-1", "c-2", "c-3"])
    published = await integrate(database)
    assert published is not None
    # Someone with the database, and even the signing key, rewrites the log from scratch.
    await tamper(database, delete(audit_entry_table))
    await tamper(database, text("DELETE FROM audit_tree_node"))
    await tamper(database, text("DELETE FROM audit_tree_head"))
    await tamper(database, update(audit_tree_state_table).values(tree_size=0))
    await record(database, resource_ids=["c-1", "c-9", "c-3", "c-4"])
    await integrate(database)
    assert (await chain(database)).intact  # consistent with itself

    result = await chain(database, heads=[published], trusted_key=SIGNER.public_key)

    assert (result.intact, result.reason) == (False, "the tree does not match its signed head")


async def test_the_sequencer_goes_on_after_a_database_failure(database, monkeypatch) -> None:
    sequencer = sequencer_of(database, interval_seconds=0.01)
    failures = iter([RuntimeError("database down")])
    real = sequencer.integrate
    placed = asyncio.Event()

    async def flaky(*, wait: bool = True):
        for failure in failures:
            raise failure
        done = await real(wait=wait)
        if done is not None:
            placed.set()
        return done

    monkeypatch.setattr(sequencer, "integrate", flaky)
    await record(database)
    running = asyncio.create_task(sequencer.run())
    try:
        await placed.wait()
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert (await chain(database)).intact


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_two_replicas_audited_reads_proceed_while_the_other_is_open(database_url) -> None:
    """No serialisation: on PostgreSQL, replica B records and commits its audited read
    while replica A's read is still open, and while a sequencer round holds the tree."""
    replicas = [
        Database(database_url, service_metadata=audit_entry_table.metadata, event_source=f"/r{n}")
        for n in range(2)
    ]
    first, second = replicas
    await first.create_schema()
    try:
        async with first.unit_of_work() as reading, first.engine.connect() as sequencing:
            await record_access(
                reading.session,
                OFFICER,
                action=AuditAction.READ,
                resource_type="person",
                resource_ids="c-a",
                purpose="case_review",
            )
            # A sequencer round in progress holds the tree's state row.
            await sequencing.execute(select(audit_tree_state_table).with_for_update())
            async with second.unit_of_work() as other:
                # Fails at once rather than wait if anything of A's were in the way.
                await (await other.session.connection()).execute(
                    text("SET LOCAL lock_timeout = '2s'")
                )
                await record_access(
                    other.session,
                    OFFICER,
                    action=AuditAction.READ,
                    resource_type="person",
                    resource_ids="c-b",
                    purpose="case_review",
                )
                async with second.engine.connect() as observer:
                    waiting = await observer.execute(
                        text("SELECT count(*) FROM pg_locks WHERE NOT granted")
                    )
                    assert waiting.scalar_one() == 0
                await other.commit()  # B is done while A is still open
            await sequencing.rollback()
            await reading.commit()
        await integrate(first)

        rows = await stored_entries(second)
        assert [r["resource_id"] for r in rows] == ["c-a", "c-b"]
        assert sorted(r["sequence"] for r in rows) == [1, 2]
        assert (await chain(second)).intact
    finally:
        for replica in replicas:
            await replica.dispose()


# --- the auditors' routes ---------------------------------------------------------------


@pytest.fixture
def audit_app(database, token_keys: Path) -> FastAPI:
    app = FastAPI()
    app.state.database = database
    app.state.audit_sequencer = sequencer_of(database)
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
    await integrate(database)
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


async def test_an_auditor_sees_whether_the_log_is_intact_with_what_was_just_recorded(
    audit_app, database, mint
) -> None:
    await record(database, resource_ids=["c-1", "c-2"])  # not yet placed by the sequencer

    async with client_of(audit_app) as client:
        response = await client.get("/audit/chain", headers=bearer(mint("mosvy", "auditor")))

    assert response.json() == {"intact": True, "entries": 2, "broken_at": None, "reason": None}


async def test_an_auditor_gets_the_signed_head_and_proofs_that_verify(
    audit_app, database, mint
) -> None:
    await record(database, resource_ids=[f"c-{i}" for i in range(3)])
    held = await integrate(database)  # a head the auditor kept
    await record(database, resource_ids=[f"d-{i}" for i in range(6)])
    assert held is not None

    async with client_of(audit_app) as client:
        response = await client.get(
            "/audit/tree",
            params={"sequence": 2, "since": 3},
            headers=bearer(mint("mosvy", "auditor")),
        )

    assert response.status_code == 200, response.text
    body = response.json()
    head = SignedTreeHead.of_fields(body["head"])
    assert head.verify(SIGNER.public_key) and head.head.tree_size == 9
    inclusion = body["inclusion"]
    merkle.verify_inclusion(
        bytes.fromhex(inclusion["entry_hash"]),
        1,
        9,
        [bytes.fromhex(h) for h in inclusion["audit_path"]],
        head.head.root_hash,
    )
    merkle.verify_consistency(
        3,
        9,
        held.head.root_hash,
        head.head.root_hash,
        [bytes.fromhex(h) for h in body["consistency"]["proof"]],
    )


async def test_no_proof_beyond_the_tree(audit_app, database, mint) -> None:
    await record(database)

    async with client_of(audit_app) as client:
        response = await client.get(
            "/audit/tree", params={"sequence": 2}, headers=bearer(mint("mosvy", "auditor"))
        )

    assert response.status_code == 404
    assert response.json()["error"]["field"] == "sequence"


@pytest.mark.parametrize("role", [r.value for r in Role if r is not Role.AUDITOR])
@pytest.mark.parametrize("path", ["/audit", "/audit/chain", "/audit/tree"])
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


async def test_accesses_of_a_user_or_of_the_service_itself_are_recorded_by_one_call(
    database,
) -> None:
    from uuid import uuid4

    from nrm_runtime.audit import record_accesses

    first, second = uuid4(), uuid4()
    system = SystemActor("referral", "mosvy")
    async with database.unit_of_work() as uow:
        for actor, ids in ((OFFICER, [first, second]), (system, first), (OFFICER, [])):
            await record_accesses(
                uow.session,
                actor,
                action=AuditAction.READ,
                resource_type="needs_assessment",
                record_ids=ids,
                purpose="case_review",
            )
        await uow.commit()
    entries = await stored_entries(database)
    assert [(e["subject"], e["resource_id"]) for e in entries] == [
        (OFFICER.subject, str(first)),
        (OFFICER.subject, str(second)),
        ("system/referral", str(first)),
    ]


async def test_a_queued_disclosure_is_recorded_once_per_record_in_the_queuing_transaction(
    database,
) -> None:
    from uuid import uuid4

    from nrm_runtime.audit import QueuedDisclosures

    notices = QueuedDisclosures("referral", "referral_notice")
    referral = uuid4()
    async with database.unit_of_work() as uow:
        notices.note(uow.session, referral)
        notices.note(uow.session, referral)  # a re-route queues a second notice
        await notices.record(uow.session, OFFICER)
        await notices.record(uow.session, OFFICER)  # nothing noted since: nothing more
        await uow.commit()
    async with database.unit_of_work() as uow:
        notices.note(uow.session, referral)
        await notices.record(uow.session, SystemActor("referral", "mosvy"), "expiry_reroute")
        await uow.commit()
    entries = await stored_entries(database)
    assert [(e["subject"], e["action"], e["purpose"]) for e in entries] == [
        (OFFICER.subject, "disclose", "referral_notice"),
        ("system/referral", "disclose", "expiry_reroute"),
    ]
