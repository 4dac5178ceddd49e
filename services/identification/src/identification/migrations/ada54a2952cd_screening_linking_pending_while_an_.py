"""screening linking pending while an import holds the person index

A screening recorded while a legacy import holds the person index waits for the
background linker (``linking_pending``); every screening already recorded is linked.

Revision ID: ada54a2952cd
Revises: 8aafbcdd0a2c
Create Date: 2026-11-28 22:25:34.125401
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "ada54a2952cd"
down_revision: str | None = "8aafbcdd0a2c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("linking_pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            batch_op.f("ix_screening_linking_pending"), ["linking_pending"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("screening", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_screening_linking_pending"))
        batch_op.drop_column("linking_pending")
