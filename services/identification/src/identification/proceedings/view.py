"""The prosecution's status view: per linked case, the victim status and decision dates,
the non-punishment flag, the whereabouts from the read model, and the contact. A case
whose link rests on consent drops out as soon as that consent is no longer in force."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from uuid import UUID

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.domain.decisions import CaseStatus
from identification.proceedings.access import may_see
from identification.proceedings.consent import consents_to_proceedings
from identification.proceedings.linking import PURPOSE
from identification.proceedings.models import (
    Contact,
    ProceedingsPublic,
    ProceedingsVictims,
    ReferenceKind,
    VictimStatus,
)
from identification.proceedings.store import CaseWhereabouts, Proceedings, ProceedingsLink
from identification.proceedings.whereabouts import Whereabouts
from identification.store import IdentificationCase
from identification.store.queries import decisions_of
from nrm_contracts.events.identification import DecisionStage, ProceedingsLinkBasis
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal, Role
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import NotFound


async def visible_links(session: AsyncSession, proceedings_id: UUID) -> list[ProceedingsLink]:
    """The record's links the prosecution may see now: not unlinked, and resting on a
    legal basis or on a consent still in force."""
    links = await session.exec(
        select(ProceedingsLink)
        .where(
            col(ProceedingsLink.proceedings_id) == proceedings_id,
            col(ProceedingsLink.unlinked_at).is_(None),
        )
        .order_by(col(ProceedingsLink.linked_at), col(ProceedingsLink.id))
    )
    return [
        link
        for link in links.all()
        if link.basis == ProceedingsLinkBasis.LEGAL_BASIS
        or await consents_to_proceedings(session, link.case_id)
    ]


def proceedings_public(record: Proceedings, linked_cases: int) -> ProceedingsPublic:
    return ProceedingsPublic(
        id=record.id,
        reference_kind=ReferenceKind(record.reference_kind),
        reference=record.reference,
        investigating_organisation=record.investigating_organisation,
        prosecuting_office=record.prosecuting_office,
        created_at=record.created_at,
        linked_cases=linked_cases,
    )


async def victim_status(
    session: AsyncSession, link: ProceedingsLink, default_contact: str
) -> VictimStatus | None:
    case = await session.get(IdentificationCase, link.case_id)
    if case is None:
        return None
    decided_on: dict[DecisionStage, date] = {}
    for decision in await decisions_of(session, case.id):
        decided_on[DecisionStage(decision.stage)] = decision.decided_on
    where = await session.get(CaseWhereabouts, case.id)
    return VictimStatus(
        case_id=case.id,
        victim_status=CaseStatus(case.status),
        decision_stage=DecisionStage(case.stage) if case.stage else None,
        preliminary_decision_on=decided_on.get(DecisionStage.PRELIMINARY),
        final_decision_on=decided_on.get(DecisionStage.FINAL),
        non_punishment=case.non_punishment_since is not None,
        non_punishment_since=case.non_punishment_since,
        # No referral or return known: the NRM cannot say where the person is.
        whereabouts=Whereabouts(where.status) if where else Whereabouts.WHEREABOUTS_UNKNOWN,
        repatriated_to=where.country if where else None,
        contact=Contact(
            organisation=(where.contact_organisation if where else None) or default_contact
        ),
        linked_at=link.linked_at,
    )


async def victims_of(
    session: AsyncSession, proceedings_id: UUID, default_contact: str
) -> list[VictimStatus]:
    found = [
        await victim_status(session, link, default_contact)
        for link in await visible_links(session, proceedings_id)
    ]
    return [status for status in found if status is not None]


async def list_visible(
    session: AsyncSession, principal: Principal, sees_all: bool
) -> Sequence[Proceedings]:
    """The records the caller's organisation investigates or prosecutes, in the roles
    it holds; MOSVY's Competent Authority all."""
    query = select(Proceedings).order_by(col(Proceedings.created_at), col(Proceedings.id))
    if not sees_all:
        mine = []
        if Role.INVESTIGATOR in principal.roles:
            mine.append(col(Proceedings.investigating_organisation) == principal.organisation)
        if Role.PROSECUTOR in principal.roles:
            mine.append(col(Proceedings.prosecuting_office) == principal.organisation)
        if not mine:
            return []
        query = query.where(or_(*mine))
    return (await session.exec(query)).all()


async def visible_proceedings(
    database: Database, principal: Principal, *, sees_all: bool
) -> list[ProceedingsPublic]:
    """The records the caller's organisation investigates or prosecutes (``sees_all``:
    every record); references and counts, no victim's status."""
    async with database.session() as session:
        records = await list_visible(session, principal, sees_all)
        return [
            proceedings_public(record, len(await visible_links(session, record.id)))
            for record in records
        ]


async def disclosed_proceedings(
    database: Database, proceedings_id: UUID, principal: Principal, authorities: tuple[str, ...]
) -> ProceedingsPublic:
    """One record, with the number of victims' cases the prosecution may see; the read
    and each disclosure audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        record = await _readable(uow, proceedings_id, principal, authorities)
        links = await visible_links(uow.session, record.id)
        await _disclose(uow, principal, record, [link.case_id for link in links])
        await uow.commit()
    return proceedings_public(record, len(links))


async def disclosed_victims(
    database: Database, proceedings_id: UUID, principal: Principal, authorities: tuple[str, ...]
) -> ProceedingsVictims:
    """Per linked case, the victim's status as the prosecution may see it; the read and
    each disclosure audited. The contact for testimony is the first authority."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        record = await _readable(uow, proceedings_id, principal, authorities)
        victims = await victims_of(uow.session, record.id, authorities[0])
        await _disclose(uow, principal, record, [victim.case_id for victim in victims])
        await uow.commit()
    return ProceedingsVictims(proceedings_id=record.id, victims=victims)


async def _readable(
    uow: UnitOfWork, proceedings_id: UUID, principal: Principal, authorities: tuple[str, ...]
) -> Proceedings:
    record = await uow.session.get(Proceedings, proceedings_id)
    if record is None or not may_see(principal, record, authorities):
        raise NotFound("proceedings")  # 404, not 403: do not confirm that it exists
    return record


async def _disclose(
    uow: UnitOfWork, principal: Principal, record: Proceedings, case_ids: list[UUID]
) -> None:
    """The record read, and each victim's status disclosed, for legal proceedings."""
    await record_access(
        uow.session,
        principal,
        action=AuditAction.READ,
        resource_type="proceedings",
        resource_ids=str(record.id),
        purpose=PURPOSE,
    )
    if case_ids:
        await record_access(
            uow.session,
            principal,
            action=AuditAction.DISCLOSE,
            resource_type="identification_case",
            resource_ids=[str(case_id) for case_id in case_ids],
            purpose=PURPOSE,
        )
