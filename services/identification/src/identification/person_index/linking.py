"""The person index in the database: every new screening matched on arrival, and the
moves of records between persons (auto-link, merge, a reviewer's confirm, unlink).

Candidates come from ``person_block_key`` (keyed digests of the blocking keys), their
sealed names are opened in memory only, and
:func:`identification.person_index.domain.matching.decide` says what to do, exactly as
:meth:`identification.person_index.domain.index.PersonIndex.add` decides over the same
records: the same candidates
(:func:`identification.person_index.domain.keys.choose_candidates`), the same name
frequency (words counted over distinct persons through the word keys,
:func:`identification.person_index.domain.keys.name_u_from_counts`) and the same number
of persons.
Every change of a record's person is written to ``person_link_history`` and announced
as ``person.linked`` / ``person.unlinked`` (ids and scores only) in the same unit of
work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.person_index import lookup
from identification.person_index import words as person_words
from identification.person_index.arrival_lock import serialise_on_blocks
from identification.person_index.domain.keys import probe_digests, record_keys
from identification.person_index.domain.matching import Comparison, PersonFeatures, decide
from identification.person_index.field_keys import digest_for
from identification.person_index.lookup import features_of_screening as features_of_screening
from identification.store import (
    Person,
    PersonBlockKey,
    PersonLinkHistory,
    PersonRecord,
    ReviewPair,
    Screening,
)
from nrm_contracts.events.identification import LinkBasis, PersonLinked, PersonUnlinked
from nrm_runtime.database import UnitOfWork
from nrm_runtime.field_crypto import KeyRing

MATCHER = "matcher"


class ReviewStatus:
    OPEN = "open"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    # Both records came to one person another way (a later link or merge).
    SETTLED = "settled"


def evidence_of(comparison: Comparison) -> dict[str, Any]:
    """A comparison as stored and shown to reviewers: levels and weights, no values."""
    return {
        "total": round(comparison.total, 3),
        "name_similarity": comparison.name_similarity,
        "fields": {
            name: {"level": str(level), "weight": round(comparison.weights[name], 3)}
            for name, level in comparison.levels.items()
        },
        "conflicts": sorted(str(conflict) for conflict in comparison.conflicts),
    }


async def link_on_arrival(
    uow: UnitOfWork,
    keys: KeyRing,
    screening: Screening,
    features: PersonFeatures,
    *,
    actor: str,
    now: datetime | None = None,
) -> int:
    """Match a new screening exactly as :meth:`PersonIndex.add` would over the same
    records: link it to its person above the upper threshold (merging other persons it
    also proves to be the same), or start a new person; pairs between the thresholds go
    to the review queue. The number of known records compared."""
    session = uow.session
    now = now or screening.recorded_at
    digest = digest_for(keys)
    stored = record_keys(features, digest)
    await serialise_on_blocks(session, stored.blocks)
    # Looked up around the record's own encounter period, filed under it only.
    candidates = await lookup.candidates(
        session, keys, probe_digests(features, digest), screening.id
    )
    members = await lookup.members_of(session, keys, candidates, screening.id)
    persons, name_u = await lookup.counts(session, features, stored)
    session.add_all(PersonBlockKey(**row) for row in stored.rows(screening.id))
    decision = decide(
        features,
        candidates,
        name_u=name_u,
        members=lambda person_id: members.get(person_id, []),
        persons=persons,
    )
    if decision.person_id is not None and decision.best is not None:
        person_id = UUID(decision.person_id)
        await _attach(uow, screening, person_id, LinkBasis.AUTOMATIC, decision.best, MATCHER, now)
        for candidate, comparison in decision.merged:
            await move_person(
                uow,
                UUID(candidate.person_id),
                into=person_id,
                basis=LinkBasis.AUTOMATIC,
                score=comparison.total,
                actor=MATCHER,
                now=now,
            )
        await settle_open_pairs(session, person_id)
        return len(candidates)
    person = Person(created_at=now)
    session.add(person)
    await session.flush()
    await _attach(uow, screening, person.id, LinkBasis.NEW_PERSON, None, MATCHER, now)
    for candidate, comparison in decision.review:
        session.add(
            ReviewPair(
                screening_id=screening.id,
                candidate_screening_id=UUID(candidate.record_id),
                score=round(comparison.total, 3),
                evidence=evidence_of(comparison),
                status=ReviewStatus.OPEN,
                created_at=now,
            )
        )
    return len(candidates)


async def _attach(
    uow: UnitOfWork,
    screening: Screening,
    person_id: UUID,
    basis: LinkBasis,
    comparison: Comparison | None,
    actor: str,
    now: datetime,
) -> None:
    score = round(comparison.total, 3) if comparison is not None else None
    uow.session.add(
        PersonRecord(
            screening_id=screening.id,
            person_id=person_id,
            case_id=screening.case_id,
            basis=basis,
            score=score,
            evidence=evidence_of(comparison) if comparison is not None else None,
            linked_by=actor,
            linked_at=now,
        )
    )
    uow.session.add(
        PersonLinkHistory(
            screening_id=screening.id,
            person_id=person_id,
            action="created" if basis is LinkBasis.NEW_PERSON else "linked",
            basis=basis,
            score=score,
            actor=actor,
            recorded_at=now,
        )
    )
    uow.record(
        PersonLinked(
            person_id=person_id,
            screening_id=screening.id,
            case_id=screening.case_id,
            score=score,
            basis=basis,
            linked_at=now,
        )
    )
    await person_words.refresh(uow.session, [person_id])


async def records_of(session: AsyncSession, person_id: UUID) -> list[PersonRecord]:
    """The person's records, oldest link first."""
    result = await session.exec(
        select(PersonRecord)
        .where(col(PersonRecord.person_id) == person_id)
        .order_by(col(PersonRecord.linked_at), col(PersonRecord.screening_id))
    )
    return list(result.all())


async def move_record(
    uow: UnitOfWork,
    record: PersonRecord,
    *,
    into: UUID,
    basis: LinkBasis,
    score: float | None,
    actor: str,
    now: datetime,
    review_pair_id: UUID | None = None,
) -> None:
    """Put one record under person ``into``: history and ``person.linked``."""
    previous = record.person_id
    record.person_id = into
    record.basis = basis
    record.score = round(score, 3) if score is not None else None
    record.linked_by = actor
    record.linked_at = now
    uow.session.add(record)
    uow.session.add(
        PersonLinkHistory(
            screening_id=record.screening_id,
            person_id=into,
            previous_person_id=previous,
            action="merged" if basis is not LinkBasis.MANUAL else "linked",
            basis=basis,
            score=record.score,
            review_pair_id=review_pair_id,
            actor=actor,
            recorded_at=now,
        )
    )
    uow.record(
        PersonLinked(
            person_id=into,
            screening_id=record.screening_id,
            case_id=record.case_id,
            previous_person_id=previous,
            score=record.score,
            basis=basis,
            linked_at=now,
        )
    )
    await person_words.refresh(uow.session, [previous, into])


async def move_person(
    uow: UnitOfWork,
    person_id: UUID,
    *,
    into: UUID,
    basis: LinkBasis,
    score: float | None,
    actor: str,
    now: datetime,
    review_pair_id: UUID | None = None,
) -> list[PersonRecord]:
    """Merge: every record of ``person_id`` goes to ``into``; the emptied person stays
    (its id is in the history, so that the merge can be traced and undone)."""
    moved = await records_of(uow.session, person_id)
    for record in moved:
        await move_record(
            uow,
            record,
            into=into,
            basis=basis,
            score=score,
            actor=actor,
            now=now,
            review_pair_id=review_pair_id,
        )
    return moved


async def unlink_record(
    uow: UnitOfWork, record: PersonRecord, *, actor: str, now: datetime
) -> Person:
    """Take a record out of its person: it becomes a person of its own."""
    previous = record.person_id
    person = Person(created_at=now)
    uow.session.add(person)
    await uow.session.flush()
    record.person_id = person.id
    record.basis = LinkBasis.NEW_PERSON
    record.score = None
    record.evidence = None
    record.linked_by = actor
    record.linked_at = now
    uow.session.add(record)
    uow.session.add(
        PersonLinkHistory(
            screening_id=record.screening_id,
            person_id=person.id,
            previous_person_id=previous,
            action="unlinked",
            basis=LinkBasis.MANUAL,
            actor=actor,
            recorded_at=now,
        )
    )
    uow.record(
        PersonUnlinked(
            person_id=previous,
            screening_id=record.screening_id,
            case_id=record.case_id,
            new_person_id=person.id,
            unlinked_at=now,
        )
    )
    await person_words.refresh(uow.session, [previous, person.id])
    return person


async def settle_open_pairs(session: AsyncSession, person_id: UUID) -> None:
    """Open review pairs whose two records are now one person need no reviewer."""
    members = select(PersonRecord.screening_id).where(col(PersonRecord.person_id) == person_id)
    await session.flush()
    pairs = await session.exec(
        select(ReviewPair).where(
            col(ReviewPair.status) == ReviewStatus.OPEN,
            col(ReviewPair.screening_id).in_(members),
            col(ReviewPair.candidate_screening_id).in_(members),
        )
    )
    for pair in pairs.all():
        pair.status = ReviewStatus.SETTLED
        session.add(pair)
