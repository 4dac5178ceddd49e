"""Referrals and their follow-up visits, shaped for the coordination and for the
addressed provider."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlmodel import col, select

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.notices import Urgency
from nrm_contracts.events.referral import ReferralNeed
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from referral.access import coordination_case, party_of, visible_referral
from referral.context import ReferralContext
from referral.domain.lifecycle import Party, ReferralState, allowed_actions
from referral.schemas.needs import SpecialNeed
from referral.schemas.providers import ProviderReferral
from referral.schemas.referrals import FollowUpPublic, ReferralPublic, ReferralStepPublic
from referral.store import (
    FollowUpVisit,
    NeedsAssessment,
    Referral,
    ReferralCase,
    ReferralStep,
    split,
)
from referral.store.referrals import steps_of


def referral_public(
    referral: Referral, steps: list[ReferralStep], principal: Principal
) -> ReferralPublic:
    """The referral as the coordination (or the addressed provider) reads it, with the
    actions ``principal`` may take on it now."""
    state = ReferralState(referral.state)
    return ReferralPublic(
        id=referral.id,
        referral_case_id=referral.referral_case_id,
        organisation_id=referral.organisation_id,
        facility_id=referral.facility_id,
        kind=referral.kind,
        needs=[ReferralNeed(n) for n in split(referral.needs)],
        state=state,
        requires_signoff=referral.requires_signoff,
        allowed_actions=allowed_actions(
            state, lambda action: party_of(principal, referral, action)
        ),
        answer_due_at=referral.answer_due_at,
        escalated_at=referral.escalated_at,
        decline_reason=referral.decline_reason,
        cancel_reason=referral.cancel_reason,
        exit_reason=referral.exit_reason,
        placement_id=referral.placement_id,
        placement_refused=referral.placement_refused,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        history=[
            ReferralStepPublic(
                action=s.action,
                from_state=ReferralState(s.from_state),
                to_state=ReferralState(s.to_state),
                actor=s.actor,
                at=s.at,
            )
            for s in steps
        ],
    )


def provider_referral(
    context: ReferralContext,
    referral: Referral,
    case: ReferralCase,
    assessment: NeedsAssessment | None,
) -> ProviderReferral:
    state = ReferralState(referral.state)
    return ProviderReferral(
        id=referral.id,
        referral_case_id=referral.referral_case_id,
        facility_id=referral.facility_id,
        state=state,
        kind=referral.kind,
        needs=[ReferralNeed(n) for n in split(referral.needs)],
        urgency=Urgency(assessment.urgency) if assessment else None,
        sex=Sex(case.sex),
        age_band=AgeBand(case.age_band),
        is_child=case.is_child,
        languages=split(assessment.languages) if assessment else [],
        special_needs=[SpecialNeed(s) for s in split(assessment.special_needs)]
        if assessment
        else [],
        referring_officer_contact=context.open(
            referral.officer_contact_sealed, "referral", referral.id, "officer_contact_sealed"
        ),
        answer_due_at=referral.answer_due_at,
        allowed_actions=allowed_actions(state, lambda action: Party.PROVIDER),
        updated_at=referral.updated_at,
    )


async def case_referrals(
    database: Database, principal: Principal, case_id: UUID
) -> list[ReferralPublic]:
    """Every referral of the case, oldest first, with its history."""
    async with database.session() as session:
        await coordination_case(session, case_id)
        query = select(Referral).where(col(Referral.referral_case_id) == case_id)
        referrals = (await session.exec(query.order_by(col(Referral.created_at)))).all()
        return [referral_public(r, await steps_of(session, r.id), principal) for r in referrals]


async def referral(
    database: Database, context: ReferralContext, principal: Principal, referral_id: UUID
) -> ReferralPublic:
    """One referral the caller may see (404 for any other), with its history."""
    async with database.session() as session:
        found = await visible_referral(session, principal, referral_id, context)
        return referral_public(found, await steps_of(session, found.id), principal)


async def escalations(database: Database, principal: Principal) -> list[ReferralPublic]:
    """Referrals escalated to the coordination, newest first."""
    async with database.session() as session:
        query = select(Referral).where(col(Referral.escalated_at).is_not(None))
        found = (await session.exec(query.order_by(col(Referral.escalated_at).desc()))).all()
        return [referral_public(r, [], principal) for r in found]


async def overdue_follow_ups(database: Database, context: ReferralContext) -> list[FollowUpPublic]:
    """Follow-up visits past their due date and not recorded, oldest first."""
    today = context.clock().date()
    async with database.session() as session:
        query = select(FollowUpVisit).where(
            col(FollowUpVisit.visited_on).is_(None), col(FollowUpVisit.due_on) < today
        )
        visits = (await session.exec(query.order_by(col(FollowUpVisit.due_on)))).all()
    return [visit_public(v, today) for v in visits]


async def follow_ups(
    database: Database, context: ReferralContext, principal: Principal, referral_id: UUID
) -> list[FollowUpPublic]:
    """The follow-up visits of a referral the caller may see."""
    async with database.session() as session:
        found = await visible_referral(session, principal, referral_id, context)
        query = select(FollowUpVisit).where(col(FollowUpVisit.referral_id) == found.id)
        visits = (await session.exec(query.order_by(col(FollowUpVisit.due_on)))).all()
    return [visit_public(v, context.clock().date()) for v in visits]


def visit_public(visit: FollowUpVisit, today: date) -> FollowUpPublic:
    return FollowUpPublic(
        id=visit.id,
        referral_id=visit.referral_id,
        due_on=visit.due_on,
        visited_on=visit.visited_on,
        overdue=visit.visited_on is None and visit.due_on < today,
    )
