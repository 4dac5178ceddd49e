"""``nrm audit``: check a service's audit log against the tree heads it published.

The heads come from a file (one JSON object a line: a head's fields, or the CloudEvents
envelope of its event as ``kcat`` prints it) or straight from its audit topic. A
head of another log, or not signed by the trusted key, is not accepted as evidence.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nrm_contracts import Envelope, InvalidEvent
from nrm_contracts.events.audit import AuditTreeHeadSigned
from nrm_runtime.audit import ChainVerification, verify_chain
from nrm_runtime.audit_heads import SignedTreeHead
from nrm_runtime.audit_tree import stored_head
from nrm_runtime.database import Database
from nrm_runtime.tables import audit_tree_head_table, runtime_metadata


def heads_of_lines(lines: Iterable[str], log_id: str) -> list[SignedTreeHead]:
    """The heads of ``log_id`` in JSON lines (heads' fields or their events' envelopes)."""
    heads = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value: dict[str, Any] = json.loads(line)
            fields = value.get("data", value) if "specversion" in value else value
            head = SignedTreeHead.of_fields(fields)
        except ValueError as error:
            raise ValueError(f"line {number}: {error}") from error
        if head.head.log_id == log_id:
            heads.append(head)
    return heads


def heads_of_file(path: Path, log_id: str) -> list[SignedTreeHead]:
    return heads_of_lines(path.read_text().splitlines(), log_id)


async def heads_of_topic(bootstrap_servers: str, topic: str, log_id: str) -> list[SignedTreeHead]:
    """Every head of ``log_id`` on ``topic``, from its first record to its end now."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic, p["partition"])
        for found in described
        if found["topic"] == topic and not found.get("error_code")
        for p in found["partitions"]
    ]
    if not partitions:
        return []
    consumer: AIOKafkaConsumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    heads = []
    try:
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for partition, records in batches.items():
                for record in records:
                    head = _head_of_record(record.key, record.value, log_id)
                    if head is not None:
                        heads.append(head)
                    if record.offset + 1 >= ends[partition]:
                        remaining.discard(partition)
    finally:
        await consumer.stop()
    return heads


def _head_of_record(key: bytes | None, value: bytes | None, log_id: str) -> SignedTreeHead | None:
    if key != log_id.encode():
        return None  # keyed by a case or facility: another event
    try:
        envelope = Envelope.from_kafka(key, value)
    except InvalidEvent:
        return None
    if not isinstance(envelope.data, AuditTreeHeadSigned):
        return None
    return SignedTreeHead.of_fields(envelope.data.model_dump())


async def verify_database(
    database_url: str, heads: list[SignedTreeHead], trusted_key: bytes | None
) -> ChainVerification:
    """The log in ``database_url`` checked against its own newest head and ``heads``."""
    database = Database(database_url, service_metadata=runtime_metadata, event_source="/nrm/cli")
    try:
        async with database.session() as session:
            return await verify_chain(session, heads=heads, trusted_key=trusted_key)
    finally:
        await database.dispose()


async def stored_heads(database_url: str) -> list[SignedTreeHead]:
    """Every head the log in ``database_url`` signed, oldest first."""
    from sqlalchemy import select

    database = Database(database_url, service_metadata=runtime_metadata, event_source="/nrm/cli")
    try:
        async with database.engine.connect() as connection:
            rows = await connection.execute(
                select(audit_tree_head_table).order_by(audit_tree_head_table.c.tree_size)
            )
            return [stored_head(row) for row in rows]
    finally:
        await database.dispose()
