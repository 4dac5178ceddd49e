"""What the live matcher reads of the person index in the database, as
:class:`identification.person_index.domain.index.PersonIndex` holds it in memory: a
block's records in the order they were recorded, the candidates it would choose, a
person's records (names opened in memory only), and the counts of persons a name's
frequency is read from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.person_index.domain.index import MAX_BLOCK_SIZE, MAX_CANDIDATES, features_of
from identification.person_index.domain.keys import (
    EVERYONE,
    RecordKeys,
    choose_candidates,
    group_of,
    name_u_from_counts,
)
from identification.person_index.domain.matching import Candidate, PersonFeatures
from identification.person_index.words import persons_carrying
from identification.store import PersonBlockKey, PersonRecord, Screening
from identification.store.sealing import PersonNames, open_person
from nrm_runtime.field_crypto import KeyRing


def features_of_screening(screening: Screening, names: PersonNames) -> PersonFeatures:
    """The matcher's view of a screening, its names opened."""
    return features_of(
        given_name=names.given_name,
        family_name=names.family_name,
        given_name_khmer=names.given_name_khmer,
        family_name_khmer=names.family_name_khmer,
        aliases=names.aliases,
        sex=screening.sex,
        birth_date=names.birth_date,
        birth_date_precision=screening.birth_date_precision,
        estimated_age=screening.estimated_age,
        encounter_date=screening.encounter_date,
        nationality=screening.nationality,
        province_code=screening.province_code,
        purposes=screening.purposes,
        exploitation_country_code=screening.exploitation_country_code,
        reporting_organisation=screening.reporting_organisation,
    )


async def block_members(session: AsyncSession, digests: Sequence[str]) -> dict[str, list[str]]:
    """The records filed under each (not too common) block, in the order they were
    recorded: the order :class:`identification.person_index.domain.index.PersonIndex` files them."""
    if not digests:
        return {}
    sizes = await session.exec(
        select(PersonBlockKey.digest, func.count())
        .where(col(PersonBlockKey.digest).in_(digests))
        .group_by(col(PersonBlockKey.digest))
    )
    # A block as common as a stop word selects nothing (see person_index.MAX_BLOCK_SIZE):
    # its members are never read.
    usable = [digest for digest, size in sizes.all() if size <= MAX_BLOCK_SIZE]
    members: dict[str, list[str]] = {}
    if not usable:
        return members
    rows = await session.exec(
        select(PersonBlockKey.digest, PersonBlockKey.screening_id)
        .join(Screening, col(Screening.id) == col(PersonBlockKey.screening_id))
        .where(col(PersonBlockKey.digest).in_(usable))
        .order_by(col(Screening.recorded_at), col(Screening.id))
    )
    for digest, screening_id in rows.all():
        members.setdefault(digest, []).append(str(screening_id))
    return members


async def opened_records(
    session: AsyncSession, keys: KeyRing, condition: Any, exclude: UUID
) -> list[Candidate]:
    """The indexed records matching ``condition`` (but ``exclude``) with their persons,
    names opened in memory only (the caller audits the read)."""
    rows = await session.exec(
        select(Screening, PersonRecord)
        .join(PersonRecord, col(PersonRecord.screening_id) == col(Screening.id))
        .where(condition, col(Screening.id) != exclude)
    )
    return [
        Candidate(
            str(screening.id),
            str(record.person_id),
            features_of_screening(screening, open_person(keys, screening)),
        )
        for screening, record in rows.all()
    ]


async def candidates(
    session: AsyncSession, keys: KeyRing, blocks: Sequence[str], exclude: UUID
) -> list[Candidate]:
    """The candidates :meth:`PersonIndex.candidates` would choose, in its order."""
    chosen = choose_candidates(
        blocks,
        await block_members(session, blocks),
        max_block_size=MAX_BLOCK_SIZE,
        max_candidates=MAX_CANDIDATES,
    )
    if not chosen:
        return []
    ids = [UUID(record_id) for record_id in chosen]
    opened = await opened_records(session, keys, col(Screening.id).in_(ids), exclude)
    order = {record_id: place for place, record_id in enumerate(chosen)}
    return sorted(opened, key=lambda candidate: order[candidate.record_id])


async def members_of(
    session: AsyncSession, keys: KeyRing, candidates: Sequence[Candidate], exclude: UUID
) -> dict[str, list[Candidate]]:
    """Every record of the candidates' persons: a record joins a whole person."""
    persons = {UUID(candidate.person_id) for candidate in candidates}
    members: dict[str, list[Candidate]] = {}
    if persons:
        condition = col(PersonRecord.person_id).in_(persons)
        for member in await opened_records(session, keys, condition, exclude):
            members.setdefault(member.person_id, []).append(member)
    return members


async def counts(
    session: AsyncSession, features: PersonFeatures, stored: RecordKeys
) -> tuple[int, float | None]:
    """How many persons the index holds, and the frequency of the record's name, counted
    over the persons in the database as :class:`PersonIndex` counts them in memory
    (distinct persons per word and per group): one read of ``person_word``."""
    group = group_of(features)
    by_word = stored.words[group]
    carried = await persons_carrying(session, [*stored.members.values(), *by_word.values()])
    persons = carried.get(stored.members[EVERYONE], 0)
    group_persons = carried.get(stored.members[group], 0)
    name_u = name_u_from_counts(
        features, lambda word: carried.get(by_word.get(word, ""), 0), group_persons, persons
    )
    return persons, name_u
