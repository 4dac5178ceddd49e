"""Serialising the matching of concurrent arrivals that share a block.

Two screenings of one person committed at the same instant must not both find no
candidate and start two persons: the second must read the candidates after the first
has committed.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

_ADVISORY_LOCK_SPACE = 2**64


def advisory_lock_ids(digests: Sequence[str]) -> list[int]:
    """The PostgreSQL advisory lock of each block digest (a signed 64-bit int from its
    first 16 hex digits), sorted and without repeats: every transaction takes its locks
    in the same order, so two of them never wait for each other in a circle."""
    ids = {int(digest[:16], 16) for digest in digests}
    return sorted(i - _ADVISORY_LOCK_SPACE if i >= 2**63 else i for i in ids)


async def serialise_on_blocks(session: AsyncSession, digests: Sequence[str]) -> None:
    """Make concurrent arrivals that share a block match one after the other.

    PostgreSQL (read committed): a transaction-scoped advisory lock per
    block digest; the candidates read after it see every committed record of the blocks.
    SQLite: one writer at a time; flushing writes this transaction's pending rows (the
    screening), so its write lock is held before the candidates are read and no other
    arrival commits in between.
    """
    await session.flush()
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    for lock_id in advisory_lock_ids(digests):
        await connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})
