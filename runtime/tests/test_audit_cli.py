"""``nrm audit verify``: a service's database checked against the heads it published,
kept in a file or read back from its topic."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from nrm_contracts.events.audit import ReferralAuditTreeHead
from nrm_runtime import cli
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.audit_heads import HeadSigner
from nrm_runtime.audit_sequencer import AuditSequencer
from nrm_runtime.auth import OrganisationType, Principal, Role
from nrm_runtime.database import Database
from nrm_runtime.tables import audit_entry_table, outbox_table, runtime_metadata

OFFICER = Principal(
    subject="officer-17@mosvy",
    organisation="mosvy",
    organisation_type=OrganisationType.MINISTRY,
    roles=frozenset({Role.CASE_MANAGER}),
)
SIGNER = HeadSigner.ephemeral()
PUBLIC_KEY = base64.b64encode(SIGNER.public_key).decode()


async def _log(url: str, batches: list[list[str]], *, create: bool) -> None:
    """Record each batch of reads, and let the sequencer sign a head after each."""
    database = Database(url, service_metadata=runtime_metadata, event_source="/nrm/referral")
    try:
        if create:
            await database.create_schema()
        sequencer = AuditSequencer(
            database, SIGNER, log_id="referral", head_event=ReferralAuditTreeHead
        )
        for resource_ids in batches:
            async with database.unit_of_work() as uow:
                await record_access(
                    uow.session,
                    OFFICER,
                    action=AuditAction.READ,
                    resource_type="person",
                    resource_ids=resource_ids,
                    purpose="case_review",
                )
                await uow.commit()
            await sequencer.integrate_all()
    finally:
        await database.dispose()


async def _run_sql(url: str, statement) -> list:
    database = Database(url, service_metadata=runtime_metadata, event_source="/nrm/cli")
    try:
        async with database.engine.begin() as connection:
            result = await connection.execute(statement)
            return list(result) if result.returns_rows else []
    finally:
        await database.dispose()


async def _create_topic(bootstrap: str, topic: str) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()


def nrm(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    status = cli.main(list(argv))
    return status, capsys.readouterr().out


@pytest.fixture
def published(database_url: str, tmp_path: Path, capsys) -> Path:
    """A log of two heads, and the heads kept in a file as an auditor would."""
    asyncio.run(_log(database_url, [["c-1", "c-2"], ["c-3"]], create=True))
    status, out = nrm(capsys, "audit", "heads", "--database-url", database_url)
    assert status == 0
    heads = tmp_path / "heads.jsonl"
    heads.write_text(out)
    return heads


def verify(capsys, database_url: str, *sources: str, key: str = PUBLIC_KEY) -> tuple[int, str]:
    return nrm(
        capsys,
        "audit",
        "verify",
        "--database-url",
        database_url,
        "--log-id",
        "referral",
        "--public-key",
        key,
        *sources,
    )


def test_a_log_verifies_against_the_heads_it_published(capsys, database_url, published) -> None:
    status, out = verify(capsys, database_url, "--heads-file", str(published))

    assert status == 0
    assert out.strip() == "intact: 3 entries, checked against 2 published head(s)"


def test_a_modified_entry_fails_the_check(capsys, database_url, published) -> None:
    asyncio.run(
        _run_sql(
            database_url,
            update(audit_entry_table)
            .where(audit_entry_table.c.sequence == 2)
            .values(purpose="curiosity"),
        )
    )

    status, out = verify(capsys, database_url, "--heads-file", str(published))

    assert status == 1
    assert out.startswith("BROKEN at entry 2: entry content was changed")


def test_a_log_rebuilt_from_scratch_fails_against_the_earlier_heads(
    capsys, database_url, published
) -> None:
    for table in ("audit_entry", "audit_tree_node", "audit_tree_head"):
        asyncio.run(_run_sql(database_url, text(f"DELETE FROM {table}")))
    asyncio.run(_run_sql(database_url, text("UPDATE audit_tree_state SET tree_size = 0")))
    asyncio.run(_log(database_url, [["c-1"], ["c-3"]], create=False))
    assert verify(capsys, database_url)[0] == 0  # consistent with itself

    status, out = verify(capsys, database_url, "--heads-file", str(published))

    assert status == 1
    assert out.startswith("BROKEN at entry 1: the tree does not match its signed head")


def test_a_head_under_another_key_is_refused(capsys, database_url, published) -> None:
    other = base64.b64encode(HeadSigner.ephemeral().public_key).decode()

    status, out = verify(capsys, database_url, key=other)

    assert status == 1
    assert "is not the log's signature" in out


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_heads_are_read_back_from_the_services_topic(
    capsys, database_url, published, kafka_bootstrap, topic_prefix
) -> None:
    from nrm_deploy.testing import produce_records

    topic = f"{topic_prefix}nrm.referral.audit"
    rows = asyncio.run(_run_sql(database_url, select(outbox_table)))
    assert len(rows) == 2  # what the relay publishes
    records = [(r.message_key.encode(), r.message_value, []) for r in rows]
    asyncio.run(_create_topic(kafka_bootstrap, topic))
    asyncio.run(produce_records(kafka_bootstrap, topic, records))
    asyncio.run(_run_sql(database_url, update(audit_entry_table).values(resource_id="c-forged")))

    status, out = verify(
        capsys, database_url, "--topic", topic, "--bootstrap-servers", kafka_bootstrap
    )

    assert status == 1
    assert out.startswith("BROKEN at entry 1: entry content was changed")
