"""The hash chain of before becomes the first leaves of the Merkle tree: every entry kept,
in its order, and the log verifies and goes on growing."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Connection, text

from nrm_runtime.audit import AuditAction, record_access, verify_chain
from nrm_runtime.audit_heads import HeadSigner
from nrm_runtime.audit_sequencer import AuditSequencer
from nrm_runtime.auth import OrganisationType, Principal, Role
from nrm_runtime.database import Database
from nrm_runtime.schema import runtime_history, upgrade_to_head

CHAIN_REVISION = "da7cb83cc830"
RESOURCES = ["c-1", "c-2", "c-1", "c-3", "c-4"]


def _chain(connection: Connection) -> None:
    """Entries as the chain wrote them up to revision da7cb83cc830."""
    command.upgrade(runtime_history().config(connection), CHAIN_REVISION)
    previous = "0" * 64
    start = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    for sequence, resource in enumerate(RESOURCES, start=1):
        recorded_at = start + timedelta(minutes=sequence)
        content = [
            sequence,
            recorded_at.isoformat(timespec="microseconds"),
            "officer-17@mosvy",
            "mosvy",
            "case_manager",
            "read",
            "person",
            resource,
            "case_review",
            previous,
        ]
        entry_hash = hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()
        connection.execute(
            text(
                "INSERT INTO audit_entry VALUES (:sequence, :recorded_at, 'officer-17@mosvy', "
                "'mosvy', 'case_manager', 'read', 'person', :resource, 'case_review', "
                ":previous, :entry_hash)"
            ),
            {
                "sequence": sequence,
                "recorded_at": recorded_at,
                "resource": resource,
                "previous": previous,
                "entry_hash": entry_hash,
            },
        )
        previous = entry_hash
    connection.execute(
        text("UPDATE audit_chain_head SET length = :length, last_hash = :last"),
        {"length": len(RESOURCES), "last": previous},
    )


async def test_the_chain_is_carried_into_the_tree_and_the_log_goes_on(database_url) -> None:
    database = Database(
        database_url, service_metadata=runtime_history().metadata, event_source="/m"
    )
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(_chain)
        await database.migrate([runtime_history()])

        async with database.engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT sequence, resource_id FROM audit_entry ORDER BY sequence")
                )
            ).all()
        assert [tuple(row) for row in rows] == list(enumerate(RESOURCES, start=1))

        sequencer = AuditSequencer(database, HeadSigner.ephemeral(), log_id="unit", head_event=None)
        assert await sequencer.has_work()  # the carried tree has no signed head yet
        head = await sequencer.integrate_all()
        assert head is not None and head.head.tree_size == len(RESOURCES)

        officer = Principal(
            subject="officer-17@mosvy",
            organisation="mosvy",
            organisation_type=OrganisationType.MINISTRY,
            roles=frozenset({Role.CASE_MANAGER}),
        )
        async with database.unit_of_work() as uow:
            await record_access(
                uow.session,
                officer,
                action=AuditAction.READ,
                resource_type="person",
                resource_ids="c-5",
                purpose="case_review",
            )
            await uow.commit()
        grown = await sequencer.integrate_all()
        assert grown is not None and grown.head.tree_size == len(RESOURCES) + 1

        async with database.session() as session:
            result = await verify_chain(session, heads=[head])
        assert (result.intact, result.entries) == (True, len(RESOURCES) + 1)
    finally:
        await database.dispose()


def _up_down_up(connection: Connection) -> list[str]:
    _chain(connection)
    upgrade_to_head(connection, [runtime_history()])
    command.downgrade(runtime_history().config(connection), CHAIN_REVISION)
    rows = connection.execute(text("SELECT resource_id FROM audit_entry ORDER BY sequence"))
    return [row[0] for row in rows]


async def test_a_downgrade_keeps_the_entries_in_a_chain_again(database_url) -> None:
    database = Database(
        database_url, service_metadata=runtime_history().metadata, event_source="/m"
    )
    try:
        async with database.engine.begin() as connection:
            assert await connection.run_sync(_up_down_up) == RESOURCES
    finally:
        await database.dispose()
