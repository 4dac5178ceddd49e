"""seal free-text notes

The screening's notes (act, means, purpose) and a decision's grounds move to sealed
columns (field encryption, like the names). A migration holds no field keys, so it
cannot seal existing plaintext: it refuses to run while any screening has a note or any
decision exists (no deployment holds any yet; a development database is recreated by
deleting it). Screenings without notes migrate as they are.

Revision ID: 883e42cf5aa0
Revises: 3911e53018cd
Create Date: 2026-11-28 21:28:32.582878
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "883e42cf5aa0"
down_revision: str | None = "3911e53018cd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NOTES = ("act_notes", "means_notes", "purpose_notes")


def _refuse_free_text(direction: str, suffix: str, rationale: str) -> None:
    """Refuse while a row holds free text this migration would have to (un)seal."""
    notes = " OR ".join(f"{note}{suffix} IS NOT NULL" for note in _NOTES)
    bind = op.get_bind()
    found = bind.execute(sa.text(f"SELECT 1 FROM screening WHERE {notes} LIMIT 1")).first()
    found = (
        found
        or bind.execute(
            sa.text(f"SELECT 1 FROM decision WHERE {rationale} IS NOT NULL LIMIT 1")
        ).first()
    )
    if found is not None:
        raise RuntimeError(
            f"cannot {direction} the notes of existing screenings or the grounds of existing "
            "decisions in a migration (it holds no field keys): migrate an identification "
            "database without notes or decisions"
        )


def upgrade() -> None:
    _refuse_free_text("seal", "", "rationale")
    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rationale_sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=False)
        )
        batch_op.drop_column("rationale")

    with op.batch_alter_table("screening", schema=None) as batch_op:
        for note in _NOTES:
            batch_op.add_column(
                sa.Column(f"{note}_sealed", sqlmodel.sql.sqltypes.AutoString(), nullable=True)
            )
        for note in _NOTES:
            batch_op.drop_column(note)


def downgrade() -> None:
    _refuse_free_text("open", "_sealed", "rationale_sealed")
    with op.batch_alter_table("screening", schema=None) as batch_op:
        for note in reversed(_NOTES):
            batch_op.add_column(sa.Column(note, sa.VARCHAR(), nullable=True))
        for note in reversed(_NOTES):
            batch_op.drop_column(f"{note}_sealed")

    with op.batch_alter_table("decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rationale", sa.VARCHAR(), nullable=False))
        batch_op.drop_column("rationale_sealed")
