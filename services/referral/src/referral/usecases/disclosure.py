"""What the addressed provider reads of its referrals and of the person: every read and
disclosure audited in the same unit of work."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import col, select

from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.errors import Conflict, NotPermitted
from referral.access import addressed_referral
from referral.context import ReferralContext
from referral.domain.lifecycle import VISIBLE_TO_PROVIDER, ReferralState
from referral.schemas.needs import SpecialNeed
from referral.schemas.providers import PersonDetails, ProviderFeed, ProviderReferral
from referral.store import NeedsAssessment, Referral, ReferralCase, split
from referral.usecases.assessment import TABLE as ASSESSMENT_TABLE
from referral.usecases.privacy import ASSESSMENT, REFERRAL, audit
from referral.views.referrals import provider_referral

DISCLOSED_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.ADMITTED, ReferralState.EXITED})


async def feed(
    database: Database,
    context: ReferralContext,
    principal: Principal,
    since: datetime | None,
    limit: int,
) -> ProviderFeed:
    """The referrals addressed to the caller's organisation that changed after ``since``
    (oldest change first)."""
    query = select(Referral).where(
        col(Referral.organisation_id) == principal.organisation,
        col(Referral.state).in_([str(s) for s in VISIBLE_TO_PROVIDER]),
    )
    if since is not None:
        query = query.where(col(Referral.updated_at) > since)
    async with database.unit_of_work(actor=principal.actor) as uow:
        referrals = (
            await uow.session.exec(
                query.order_by(col(Referral.updated_at), col(Referral.id)).limit(limit)
            )
        ).all()
        items = []
        for referral in referrals:
            case = await uow.session.get(ReferralCase, referral.referral_case_id)
            assert case is not None
            assessment = await uow.session.get(NeedsAssessment, case.id)
            items.append(provider_referral(context, referral, case, assessment))
        await audit(
            uow.session,
            principal,
            AuditAction.READ,
            REFERRAL,
            [r.id for r in referrals],
            "provider_feed",
        )
        await uow.commit()
    return ProviderFeed(items=items, next_since=items[-1].updated_at if items else since)


async def addressed(
    database: Database, context: ReferralContext, principal: Principal, referral_id: UUID
) -> ProviderReferral:
    """One referral addressed to the caller's organisation (404 for any other)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await addressed_referral(uow.session, principal, referral_id)
        case = await uow.session.get(ReferralCase, referral.referral_case_id)
        assert case is not None
        assessment = await uow.session.get(NeedsAssessment, case.id)
        await audit(
            uow.session, principal, AuditAction.READ, REFERRAL, referral.id, "provider_referral"
        )
        await uow.commit()
    return provider_referral(context, referral, case, assessment)


async def person_details(
    database: Database, context: ReferralContext, principal: Principal, referral_id: UUID
) -> PersonDetails:
    """The person's wishes and notes, to the provider that accepted, with the person's
    consent to data sharing."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await addressed_referral(uow.session, principal, referral_id)
        if ReferralState(referral.state) not in DISCLOSED_STATES:
            raise Conflict(
                "the person's details are disclosed after acceptance", code="not_accepted"
            )
        case = await uow.session.get(ReferralCase, referral.referral_case_id)
        assert case is not None
        if not case.data_sharing_consent or case.consent_withdrawn_at is not None:
            raise NotPermitted("the person did not consent to data sharing", code="no_consent")
        assessment = await uow.session.get(NeedsAssessment, case.id)
        await audit(uow.session, principal, AuditAction.DISCLOSE, ASSESSMENT, case.id, "aftercare")
        await uow.commit()
    key = case.id
    return PersonDetails(
        referral_id=referral.id,
        identification_case_id=case.identification_case_id,
        wishes=context.open(assessment.wishes_sealed, ASSESSMENT_TABLE, key, "wishes_sealed")
        if assessment
        else None,
        notes=context.open(assessment.notes_sealed, ASSESSMENT_TABLE, key, "notes_sealed")
        if assessment
        else None,
        languages=split(assessment.languages) if assessment else [],
        special_needs=[SpecialNeed(s) for s in split(assessment.special_needs)]
        if assessment
        else [],
    )
