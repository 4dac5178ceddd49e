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

from identification.decisions import CaseStatus
from identification.proceedings.consent import consents_to_proceedings
from identification.proceedings.models import (
    Contact,
    ProceedingsPublic,
    ReferenceKind,
    VictimStatus,
)
from identification.proceedings.store import CaseWhereabouts, Proceedings, ProceedingsLink
from identification.proceedings.whereabouts import Whereabouts
from identification.queries import decisions_of
from identification.store import IdentificationCase
from nrm_contracts.events.identification import DecisionStage, ProceedingsLinkBasis
from nrm_runtime.auth import Principal, Role


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
