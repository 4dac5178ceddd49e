"""audit log as a Merkle tree

The hash chain under one head row becomes a verifiable log (nrm_runtime.audit): entries
inserted without a position, placed in a Merkle tree by the sequencer, signed heads.
The existing entries are kept, in their order: the old chain is checked (a break is
logged, never hidden: the entries are carried over as they are), each entry gets its
leaf hash, and the tree of all of them is built here, so that the sequencer's first
round signs its head.

Revision ID: 4b7e2c9d1a30
Revises: da7cb83cc830
Create Date: 2026-12-07 21:10:00.000000
"""

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import nrm_runtime.tables
from nrm_runtime import merkle

revision: str = "4b7e2c9d1a30"
down_revision: str | None = "da7cb83cc830"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

GENESIS = "0" * 64
_MOMENT = nrm_runtime.tables.UtcDateTime()
CONTENT = (
    "recorded_at",
    "subject",
    "organisation",
    "role",
    "action",
    "resource_type",
    "resource_id",
    "purpose",
)


def _chain_hash(row: Any) -> str:
    """The old chain's entry hash (as nrm_runtime.audit computed it until this revision)."""
    content = [
        row.sequence,
        row.recorded_at.isoformat(timespec="microseconds"),
        *(getattr(row, name) for name in CONTENT[1:]),
        row.previous_hash,
    ]
    return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()


def _leaf(values: dict[str, object]) -> bytes:
    """The new leaf data (frozen here as nrm_runtime.audit.leaf_data wrote it then)."""
    recorded_at = values["recorded_at"]
    content = [
        "nrm-audit-entry/1",
        recorded_at.isoformat(timespec="microseconds"),  # type: ignore[attr-defined]
        *(values[name] for name in CONTENT[1:]),
    ]
    return json.dumps(content, separators=(",", ":")).encode()


def upgrade() -> None:
    connection = op.get_bind()
    old_rows = connection.execute(
        sa.text("SELECT * FROM audit_entry ORDER BY sequence").columns(recorded_at=_MOMENT)
    ).all()
    previous, broken = GENESIS, None
    for expected, row in enumerate(old_rows, start=1):
        if broken is None and (
            row.sequence != expected
            or row.previous_hash != previous
            or _chain_hash(row) != row.entry_hash
        ):
            broken = expected
        previous = row.entry_hash
    if broken is not None:
        log.warning("the audit chain carried over was already broken at entry %s", broken)

    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_resource")
    op.rename_table("audit_entry", "audit_entry_chain")
    op.drop_table("audit_chain_head")

    entries = op.create_table(
        "audit_entry",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("recorded_at", nrm_runtime.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sequence"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_entry_pending",
            ["id"],
            unique=False,
            sqlite_where=sa.text("sequence IS NULL"),
            postgresql_where=sa.text("sequence IS NULL"),
        )
        batch_op.create_index("ix_audit_entry_resource", ["resource_id", "id"], unique=False)
    nodes = op.create_table(
        "audit_tree_node",
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("level", "position"),
    )
    op.create_table(
        "audit_tree_head",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("log_id", sa.String(length=64), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("tree_size"),
    )
    state = op.create_table(
        "audit_tree_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )

    # The old entries, in their order, as the first leaves of the tree.
    carried, leaves = [], []
    for position, row in enumerate(old_rows, start=1):
        values: dict[str, object] = {name: getattr(row, name) for name in CONTENT}
        leaf = merkle.leaf_hash(_leaf(values))
        leaves.append(leaf)
        carried.append({"id": position, "sequence": position, **values, "entry_hash": leaf.hex()})
    if carried:
        op.bulk_insert(entries, carried)
        _, completed = merkle.extend([], 0, leaves)
        if completed:
            op.bulk_insert(
                nodes,
                [{"level": lv, "position": ix, "hash": h.hex()} for lv, ix, h in completed],
            )
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), :last)"
                ).bindparams(last=len(carried))
            )
    op.bulk_insert(state, [{"id": 1, "tree_size": len(carried)}])
    op.drop_table("audit_entry_chain")


def downgrade() -> None:
    # Back to the hash chain: the entries kept in their order (placed ones first), chained
    # anew; the tree and its heads are gone (the published heads stay on the topics).
    connection = op.get_bind()
    rows = connection.execute(
        sa.text(
            "SELECT * FROM audit_entry ORDER BY CASE WHEN sequence IS NULL THEN 1 ELSE 0 END, "
            "sequence, id"
        ).columns(recorded_at=_MOMENT)
    ).all()
    op.drop_table("audit_tree_state")
    op.drop_table("audit_tree_head")
    op.drop_table("audit_tree_node")
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_entry_resource")
        batch_op.drop_index("ix_audit_entry_pending")
    op.drop_table("audit_entry")
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    chain = op.create_table(
        "audit_entry",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("recorded_at", nrm_runtime.tables.UtcDateTime(timezone=True), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("resource_type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence"),
    )
    with op.batch_alter_table("audit_entry", schema=None) as batch_op:
        batch_op.create_index("ix_audit_entry_resource", ["resource_id", "sequence"], unique=False)
    previous, chained = GENESIS, []
    for position, row in enumerate(rows, start=1):
        values = {name: getattr(row, name) for name in CONTENT}
        entry = {"sequence": position, **values, "previous_hash": previous}
        entry["entry_hash"] = _chain_hash(_AsRow(entry))
        chained.append(entry)
        previous = str(entry["entry_hash"])
    if chained:
        op.bulk_insert(chain, chained)
    op.bulk_insert(head, [{"id": 1, "length": len(chained), "last_hash": previous}])


class _AsRow:
    """A dict read as a row's attributes (what _chain_hash reads)."""

    def __init__(self, values: dict[str, object]) -> None:
        self.__dict__.update(values)
