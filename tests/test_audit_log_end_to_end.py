"""A service's audit log on the real broker: the audited accesses of a running service
are placed in its Merkle tree, each signed tree head is published on its audit topic, and
``nrm audit verify`` checks the service's database against the heads read back from there,
detecting an entry changed afterwards."""

from __future__ import annotations

import asyncio
import base64

import httpx
from sqlalchemy import update

from nrm_deploy.testing import bearer, eventually, on_both_engines, screening_form
from nrm_runtime import cli
from nrm_runtime.audit_heads import HeadSigner
from nrm_runtime.audit_verify import heads_of_topic
from nrm_runtime.database import Database
from nrm_runtime.tables import audit_entry_table, runtime_metadata

pytestmark = on_both_engines


async def _change_an_entry(database_url: str) -> None:
    database = Database(database_url, service_metadata=runtime_metadata, event_source="/t")
    try:
        async with database.engine.begin() as connection:
            await connection.execute(
                update(audit_entry_table)
                .where(audit_entry_table.c.sequence == 1)
                .values(organisation="someone-else")
            )
    finally:
        await database.dispose()


def test_a_services_heads_are_published_and_its_database_verified_against_them(
    start_service, mint, kafka_bootstrap, topic_prefix, token_keys, capsys
) -> None:
    identification = start_service("identification", AUDIT_SEQUENCER_SECONDS="0.2")
    screener = bearer(mint("moi-dahtjp", "screener"))
    recorded = httpx.post(
        f"{identification.url}/screenings", json=screening_form(), headers=screener
    )
    assert recorded.status_code == 201, recorded.text
    read = httpx.get(f"{identification.url}/screenings/{recorded.json()['id']}", headers=screener)
    assert read.status_code == 200
    status = httpx.get(
        f"{identification.url}/audit/chain", headers=bearer(mint("mosvy", "auditor"))
    )
    entries = status.json()["entries"]
    assert status.json()["intact"] and entries >= 2

    topic = f"{topic_prefix}nrm.identification.audit"
    heads = eventually(
        lambda: [
            head
            for head in asyncio.run(heads_of_topic(kafka_bootstrap, topic, "identification"))
            if head.head.tree_size == entries
        ]
    )
    key = HeadSigner.load(token_keys / "audit-identification.pem").public_key
    assert all(head.verify(key) for head in heads)  # type: ignore[attr-defined]
    database_url = identification.environment()["IDENTIFICATION_DATABASE_URL"]
    verify = [
        "audit",
        "verify",
        "--database-url",
        database_url,
        "--log-id",
        "identification",
        "--topic",
        topic,
        "--bootstrap-servers",
        kafka_bootstrap,
        "--public-key",
        base64.b64encode(key).decode(),
    ]

    assert cli.main(verify) == 0
    assert capsys.readouterr().out.startswith(f"intact: {entries} entries, checked against")

    identification.stop()
    asyncio.run(_change_an_entry(database_url))
    assert cli.main(verify) == 1
    assert "BROKEN at entry 1: entry content was changed" in capsys.readouterr().out
