"""Serialising the matching of concurrent arrivals that share a block, and of arrivals
with a legacy import.

Two screenings of one person committed at the same instant must not both find no
candidate and start two persons: the second must read the candidates after the first
has committed.

A legacy import matches its rows against the whole index it loaded at its start: a live
arrival committed after that load would be missed (one person split in two). The import
holds the person index lock exclusively from its load to its commit; a live arrival
takes it shared, without waiting (a screening must not wait minutes for an import): when
it cannot, the screening is recorded with its linking pending and
:mod:`identification.person_index.pending` links it once the import has committed.

On SQLite there are no advisory locks: its one writer already serialises, so a running
import (one long write transaction) makes live screenings wait for it, up to the busy
timeout, and then fail; an import is run against SQLite in development only.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

_ADVISORY_LOCK_SPACE = 2**64
# The person index lock: one fixed advisory key, the bytes of "nrmindex" (a block
# digest's lock would take it only by a 1 in 2**64 chance, and then merely wait more).
PERSON_INDEX_LOCK = int.from_bytes(b"nrmindex", "big")


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


async def _postgresql(session: AsyncSession) -> AsyncConnection | None:
    connection = await session.connection()
    return connection if connection.dialect.name == "postgresql" else None


async def hold_person_index(session: AsyncSession) -> None:
    """Take the person index lock exclusively until the transaction ends (a legacy
    import, from loading the index to its commit); waits for the arrivals linking now.
    SQLite: the one writer's lock, taken by a write that changes nothing, so that no
    screening commits between the load and the import's commit."""
    if (connection := await _postgresql(session)) is not None:
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:id)"), {"id": PERSON_INDEX_LOCK}
        )
        return
    connection = await session.connection()
    await connection.execute(text("UPDATE person SET id = id WHERE 1 = 0"))


async def try_share_person_index(session: AsyncSession) -> bool:
    """Take the person index lock shared until the transaction ends, without waiting;
    False when an import holds it (or waits for it). Always True on SQLite."""
    if (connection := await _postgresql(session)) is None:
        return True
    taken = await connection.execute(
        text("SELECT pg_try_advisory_xact_lock_shared(:id)"), {"id": PERSON_INDEX_LOCK}
    )
    return bool(taken.scalar_one())


async def share_person_index(session: AsyncSession) -> None:
    """Take the person index lock shared until the transaction ends, waiting for an
    import to commit (the background linker, never a request)."""
    if (connection := await _postgresql(session)) is not None:
        await connection.execute(
            text("SELECT pg_advisory_xact_lock_shared(:id)"), {"id": PERSON_INDEX_LOCK}
        )
