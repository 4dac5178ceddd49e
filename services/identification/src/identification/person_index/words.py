"""The persons carrying each digest (``person_word``): what a name's frequency and a
group's size are counted from on every arrival.

Counting the distinct persons of the records filed under a word means joining every
such record to its person, and a common word ("Nguyen") has thousands: the cost of an
arrival would grow with the index. ``person_word`` holds each digest once per person
instead, kept in line with the index whenever a record joins, leaves or moves between
persons (:func:`refresh`), and rebuilt whole by an import or a rekeying
(:func:`rebuild`): a count is then a count of index entries. Only the keys
persons are counted by are held (``person_block_key.counted``), not the blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

from sqlalchemy import Executable, Select, delete, func
from sqlalchemy import select as select_columns
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.store import PersonBlockKey, PersonRecord, PersonWord

# Persons refreshed per statement (bound parameters stay well under SQLite's limit).
BATCH = 500


def _carried(persons: Sequence[UUID] | None) -> Select[str, UUID]:
    # Each counted digest a record of the person is filed under, once per person.
    query = (
        select_columns(col(PersonBlockKey.digest), col(PersonRecord.person_id))
        .join(PersonRecord, col(PersonRecord.screening_id) == col(PersonBlockKey.screening_id))
        .distinct()
    )
    query = query.where(col(PersonBlockKey.counted))
    if persons is not None:
        query = query.where(col(PersonRecord.person_id).in_(persons))
    return query


async def refresh(session: AsyncSession, persons: Iterable[UUID]) -> None:
    """The rows of these persons as their records now are (after a link, a merge, an
    unlink: every person that gained or lost a record)."""
    ids = sorted(set(persons))
    if not ids:
        return
    await session.flush()
    connection = await session.connection()
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        await connection.execute(delete(PersonWord).where(col(PersonWord.person_id).in_(batch)))
        await connection.execute(_insert_missing(connection, _carried(batch)))


async def rebuild(session: AsyncSession) -> None:
    """Every row again, from the whole index."""
    await session.flush()
    connection = await session.connection()
    await connection.execute(delete(PersonWord))
    await connection.execute(_insert_missing(connection, _carried(None)))


def _insert_missing(connection: AsyncConnection, rows: Select[str, UUID]) -> Executable:
    # Two arrivals joining one person without sharing a block are not serialised (on
    # PostgreSQL): the later one's insert can meet the rows the earlier one committed.
    # They are the same rows; the later one keeps them.
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement: Executable = (
        dialect.insert(PersonWord)
        .from_select(["digest", "person_id"], rows)
        .on_conflict_do_nothing(index_elements=["digest", "person_id"])
    )
    return statement


async def persons_carrying(session: AsyncSession, digests: Sequence[str]) -> dict[str, int]:
    """How many persons carry each of ``digests`` (absent: none)."""
    if not digests:
        return {}
    rows = await session.exec(
        select(PersonWord.digest, func.count())
        .where(col(PersonWord.digest).in_(list(digests)))
        .group_by(col(PersonWord.digest))
    )
    return {digest: int(count) for digest, count in rows.all()}
