"""The runtime's own tables, present in every service's database.

They live in their own metadata so that a service's tables and these are created in the
service's database only, even when tests import several services into one process.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    TypeDecorator,
    event,
)
from sqlalchemy.engine import Dialect

runtime_metadata = MetaData()

# BigInteger on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite.
_sequence_id = BigInteger().with_variant(Integer(), "sqlite")


def utc_now() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment in UTC, read back with its time zone on every database.

    SQLite keeps no time zone: without this, a time written as UTC comes back naive and
    is served without its offset, which no client can interpret safely.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: every stored time must carry its time zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


outbox_table = Table(
    "outbox",
    runtime_metadata,
    Column("sequence", _sequence_id, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("event_type", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("message_key", String(200), nullable=False),
    Column("message_value", LargeBinary, nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("traceparent", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False, default=utc_now),
    Column("published_at", UtcDateTime(), nullable=True),
)
# The relay's only query: the oldest unpublished rows, in commit order.
Index("ix_outbox_unpublished", outbox_table.c.published_at, outbox_table.c.sequence)

# Failed authentications, counted per key (a hash of an address or of a credential) and
# per time bucket, shared by the replicas of a service (nrm_runtime.failure_sharing).
auth_failure_table = Table(
    "auth_failure",
    runtime_metadata,
    Column("key", String(80), primary_key=True),
    Column("bucket", BigInteger, primary_key=True, autoincrement=False),
    Column("failures", Integer, nullable=False),
)

processed_message_table = Table(
    "processed_message",
    runtime_metadata,
    Column("consumer_group", String(100), nullable=False),
    Column("event_source", String(200), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("processed_at", UtcDateTime(), nullable=False, default=utc_now),
    # CloudEvents: source + id identify an event.
    PrimaryKeyConstraint("consumer_group", "event_source", "event_id"),
)

# The audit log: append-only, a verifiable log (nrm_runtime.audit): each access inserts
# its entry with its leaf hash and no position; the sequencer gives it its position in the
# Merkle tree (``sequence``, from 1) later. Ids only: no personal data in clear.
audit_entry_table = Table(
    "audit_entry",
    runtime_metadata,
    Column("id", _sequence_id, primary_key=True, autoincrement=True),
    Column("sequence", BigInteger, nullable=True, unique=True),
    Column("recorded_at", UtcDateTime(), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("organisation", String(64), nullable=False),
    Column("role", String(64), nullable=False),
    Column("action", String(16), nullable=False),
    Column("resource_type", String(64), nullable=False),
    Column("resource_id", String(200), nullable=False),
    Column("purpose", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
)
# Auditors ask "who touched this record", oldest first.
Index("ix_audit_entry_resource", audit_entry_table.c.resource_id, audit_entry_table.c.id)
# The sequencer's only query on entries: those not yet in the tree, in insertion order.
Index(
    "ix_audit_entry_pending",
    audit_entry_table.c.id,
    sqlite_where=audit_entry_table.c.sequence.is_(None),
    postgresql_where=audit_entry_table.c.sequence.is_(None),
)

# The Merkle tree's perfect subtrees of level 1 and above (level 0 is the entries' own
# hashes): the node (level, index) covers the entries of sequence index * 2**level + 1
# to (index + 1) * 2**level. Written once, by the sequencer; proofs read a few of them.
audit_tree_node_table = Table(
    "audit_tree_node",
    runtime_metadata,
    Column("level", Integer, nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    PrimaryKeyConstraint("level", "position"),
)

# Every tree head the sequencer signed: the log's size, its root, the signature.
audit_tree_head_table = Table(
    "audit_tree_head",
    runtime_metadata,
    Column("tree_size", BigInteger, primary_key=True, autoincrement=False),
    Column("log_id", String(64), nullable=False),
    Column("root_hash", String(64), nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("signature", String(128), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("public_key", String(64), nullable=False),
)

# One row: how many entries the tree holds. Only the sequencer writes it, and it locks
# it first (a row lock on PostgreSQL, the write lock on SQLite): one sequencer at a time
# extends the tree, however many replicas run one. Appends never touch it.
audit_tree_state_table = Table(
    "audit_tree_state",
    runtime_metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("tree_size", BigInteger, nullable=False),
)
# The state row exists from the start: created with the table (tests' create_all) and by
# the migration that creates it.
event.listen(
    audit_tree_state_table,
    "after_create",
    DDL("INSERT INTO audit_tree_state (id, tree_size) VALUES (1, 0)"),  # type: ignore[no-untyped-call]
)
