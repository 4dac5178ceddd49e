"""The Competent Authority's review of the person index: candidate pairs confirmed or
rejected, records unlinked from a person and linked back. Every change is reversible
(unlink undoes a link, link undoes an unlink), kept in the link history, announced by
an event and audited; every read of a person's fields is audited."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.legacy_import.mapping import Source
from identification.person_index import linking as person_linking
from identification.person_index.arrival_lock import try_share_person_index
from identification.person_index.linking import ReviewStatus, records_of, settle_open_pairs
from identification.person_index.schemas import (
    LinkHistoryEntry,
    PersonHistory,
    PersonIndexEntry,
    RecordDetail,
    RecordRef,
    ReviewPairDetail,
    ReviewPairPublic,
    ReviewStatusName,
    UnlinkResult,
    evidence_model,
)
from identification.store import (
    LegacyRecord,
    Person,
    PersonLinkHistory,
    PersonRecord,
    ReviewPair,
    Screening,
)
from identification.store.sealing import open_person
from identification.views.screenings import documents_of, to_public
from nrm_contracts.events.identification import LinkBasis
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid, NotFound, ProblemError
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.http import PageQuery, encode_cursor

REVIEW_PURPOSE = "person_review"


async def _record_ref(session: AsyncSession, screening_id: UUID) -> tuple[Screening, PersonRecord]:
    screening = await session.get(Screening, screening_id)
    record = await session.get(PersonRecord, screening_id)
    if screening is None or record is None:  # every screening is in the index
        raise NotFound("record")
    return screening, record


async def _ref(session: AsyncSession, screening: Screening, record: PersonRecord) -> RecordRef:
    return (await _ref_and_legacy(session, screening, record))[0]


async def _ref_and_legacy(
    session: AsyncSession, screening: Screening, record: PersonRecord
) -> tuple[RecordRef, LegacyRecord | None]:
    # An imported record's screening row carries a case id of its own making: there is
    # no such case here. The reviewer is told where the record came from instead.
    legacy = await session.get(LegacyRecord, screening.id)
    ref = RecordRef(
        screening_id=screening.id,
        case_id=screening.case_id if legacy is None else None,
        source=Source(legacy.source) if legacy is not None else None,
        person_id=record.person_id,
        reporting_organisation=screening.reporting_organisation,
        encounter_date=screening.encounter_date,
    )
    return ref, legacy


async def _pair_public(session: AsyncSession, pair: ReviewPair) -> ReviewPairPublic:
    first = await _record_ref(session, pair.screening_id)
    second = await _record_ref(session, pair.candidate_screening_id)
    return ReviewPairPublic(
        id=pair.id,
        status=ReviewStatusName(pair.status),
        score=pair.score,
        evidence=evidence_model(pair.evidence),
        record=await _ref(session, *first),
        candidate=await _ref(session, *second),
        created_at=pair.created_at,
        decided_by=pair.decided_by,
        decided_at=pair.decided_at,
    )


async def list_pairs(
    database: Database, status: ReviewStatusName, page: PageQuery
) -> tuple[list[ReviewPairPublic], str | None]:
    """Review pairs in ``status``, best score first (ties: oldest first). No names."""
    async with database.session() as session:
        query = (
            select(ReviewPair)
            .where(col(ReviewPair.status) == status)
            .order_by(col(ReviewPair.score).desc(), col(ReviewPair.id))
        )
        if page.cursor is not None:
            try:
                score, after = float(page.cursor["score"]), UUID(str(page.cursor["id"]))
            except (KeyError, ValueError, TypeError):
                raise ProblemError(
                    422, "invalid_input", "malformed cursor", field="cursor"
                ) from None
            query = query.where(
                or_(
                    col(ReviewPair.score) < score,
                    and_(col(ReviewPair.score) == score, col(ReviewPair.id) > after),
                )
            )
        pairs = list((await session.exec(query.limit(page.limit + 1))).all())
        next_cursor = None
        if len(pairs) > page.limit:
            pairs = pairs[: page.limit]
            next_cursor = encode_cursor({"score": pairs[-1].score, "id": str(pairs[-1].id)})
        return [await _pair_public(session, pair) for pair in pairs], next_cursor


async def _detail(
    session: AsyncSession, keys: KeyRing, screening: Screening, record: PersonRecord
) -> RecordDetail:
    documents = await documents_of(session, screening.id)
    person = to_public(screening, open_person(keys, screening), documents, keys).person
    ref, legacy = await _ref_and_legacy(session, screening, record)
    return RecordDetail(
        **ref.model_dump(),
        source_record_id=legacy.source_record_id if legacy is not None else None,
        person=person,
        basis=LinkBasis(record.basis),
        score=record.score,
        evidence=evidence_model(record.evidence),
        linked_at=record.linked_at,
    )


async def _pair(session: AsyncSession, pair_id: UUID) -> ReviewPair:
    pair = await session.get(ReviewPair, pair_id)
    if pair is None:
        raise NotFound("review pair")
    return pair


async def pair_detail(
    database: Database, keys: KeyRing, principal: Principal, pair_id: UUID
) -> ReviewPairDetail:
    """A pair with both records' person fields opened; the read is audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        session = uow.session
        pair = await _pair(session, pair_id)
        first = await _record_ref(session, pair.screening_id)
        second = await _record_ref(session, pair.candidate_screening_id)
        await record_access(
            session,
            principal,
            action=AuditAction.READ,
            resource_type="screening",
            resource_ids=[str(pair.screening_id), str(pair.candidate_screening_id)],
            purpose=REVIEW_PURPOSE,
        )
        answer = ReviewPairDetail(
            **(await _pair_public(session, pair)).model_dump(),
            record_detail=await _detail(session, keys, *first),
            candidate_detail=await _detail(session, keys, *second),
        )
        await uow.commit()
    return answer


async def _no_import_running(session: AsyncSession) -> None:
    """409 while a legacy import holds the person index: it moves records by the state
    it loaded at its start, and would undo a reviewer's change made meanwhile."""
    if not await try_share_person_index(session):
        raise Conflict(
            "a legacy import is changing the person index: decide again once it has finished",
            code="import_running",
        )


def _open_or_conflict(pair: ReviewPair) -> None:
    if pair.status != ReviewStatus.OPEN:
        raise Conflict(f"the pair is already {pair.status}", code="review_pair_decided")


async def confirm(
    database: Database, principal: Principal, pair_id: UUID, now: datetime
) -> ReviewPairPublic:
    """One person: the arriving record's person joins the candidate's."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        session = uow.session
        pair = await _pair(session, pair_id)
        _open_or_conflict(pair)
        await _no_import_running(session)
        _, arriving = await _record_ref(session, pair.screening_id)
        _, known = await _record_ref(session, pair.candidate_screening_id)
        if arriving.person_id != known.person_id:
            await person_linking.move_person(
                uow,
                arriving.person_id,
                into=known.person_id,
                basis=LinkBasis.REVIEW_CONFIRMED,
                score=pair.score,
                actor=str(principal.actor),
                now=now,
                review_pair_id=pair.id,
            )
        _decide(pair, ReviewStatus.CONFIRMED, principal, now)
        await settle_open_pairs(session, known.person_id)
        await _audit_write(uow, principal, "person", str(known.person_id))
        answer = await _pair_public(session, pair)
        await uow.commit()
    return answer


async def reject(
    database: Database, principal: Principal, pair_id: UUID, now: datetime
) -> ReviewPairPublic:
    """Two persons: the pair is closed; nothing moves."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        pair = await _pair(uow.session, pair_id)
        _open_or_conflict(pair)
        _decide(pair, ReviewStatus.REJECTED, principal, now)
        await _audit_write(uow, principal, "review_pair", str(pair.id))
        answer = await _pair_public(uow.session, pair)
        await uow.commit()
    return answer


def _decide(pair: ReviewPair, status: str, principal: Principal, now: datetime) -> None:
    pair.status = status
    pair.decided_by = str(principal.actor)
    pair.decided_at = now


async def _audit_write(
    uow: UnitOfWork, principal: Principal, resource_type: str, resource_id: str
) -> None:
    await record_access(
        uow.session,
        principal,
        action=AuditAction.WRITE,
        resource_type=resource_type,
        resource_ids=resource_id,
        purpose=REVIEW_PURPOSE,
    )


async def person_entry(
    database: Database, keys: KeyRing, principal: Principal, person_id: UUID
) -> PersonIndexEntry:
    """A person with every record's fields opened; the read is audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        session = uow.session
        person = await session.get(Person, person_id)
        records = await records_of(session, person_id) if person is not None else []
        if person is None or not records:
            raise NotFound("person")  # a person emptied by a merge lives on in the history only
        await record_access(
            session,
            principal,
            action=AuditAction.READ,
            resource_type="person",
            resource_ids=str(person_id),
            purpose=REVIEW_PURPOSE,
        )
        details = []
        for record in records:
            screening, _ = await _record_ref(session, record.screening_id)
            details.append(await _detail(session, keys, screening, record))
        answer = PersonIndexEntry(id=person.id, created_at=person.created_at, records=details)
        await uow.commit()
    return answer


async def history(database: Database, person_id: UUID) -> PersonHistory:
    """Every link, merge and unlink that involved the person, oldest first."""
    async with database.session() as session:
        rows = await session.exec(
            select(PersonLinkHistory)
            .where(
                or_(
                    col(PersonLinkHistory.person_id) == person_id,
                    col(PersonLinkHistory.previous_person_id) == person_id,
                )
            )
            .order_by(col(PersonLinkHistory.id))
        )
        entries = [LinkHistoryEntry.model_validate(row, from_attributes=True) for row in rows.all()]
        if not entries:
            raise NotFound("person")
        return PersonHistory(person_id=person_id, entries=entries)


async def _member(session: AsyncSession, person_id: UUID, screening_id: UUID) -> PersonRecord:
    record = await session.get(PersonRecord, screening_id)
    if record is None or record.person_id != person_id:
        raise NotFound("record")
    return record


async def unlink(
    database: Database, principal: Principal, person_id: UUID, screening_id: UUID, now: datetime
) -> UnlinkResult:
    """Take a wrongly linked record out of the person (undo: :func:`link`)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        record = await _member(uow.session, person_id, screening_id)
        await _no_import_running(uow.session)
        if len(await records_of(uow.session, person_id)) == 1:
            raise Conflict("the person has no other record to leave", code="single_record")
        person = await person_linking.unlink_record(
            uow, record, actor=str(principal.actor), now=now
        )
        await _audit_write(uow, principal, "person", str(person_id))
        answer = UnlinkResult(
            screening_id=screening_id, previous_person_id=person_id, person_id=person.id
        )
        await uow.commit()
    return answer


async def link(
    database: Database, principal: Principal, person_id: UUID, screening_id: UUID, now: datetime
) -> RecordRef:
    """Put a record under the person by hand (undoes an unlink)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        session = uow.session
        if not await records_of(session, person_id):
            raise NotFound("person")
        record = await session.get(PersonRecord, screening_id)
        if record is None:
            raise Invalid("no such record", field="screening_id")
        if record.person_id == person_id:
            raise Conflict("the record already belongs to the person", code="already_linked")
        await _no_import_running(session)
        await person_linking.move_record(
            uow,
            record,
            into=person_id,
            basis=LinkBasis.MANUAL,
            score=None,
            actor=str(principal.actor),
            now=now,
        )
        await settle_open_pairs(session, person_id)
        await _audit_write(uow, principal, "person", str(person_id))
        answer = await _ref(session, *(await _record_ref(session, screening_id)))
        await uow.commit()
    return answer
