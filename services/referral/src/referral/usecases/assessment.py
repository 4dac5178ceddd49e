"""Needs assessment, matching with the registry's facilities, and service gaps."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts.events.identification import AgeBand
from nrm_contracts.events.referral import ReferralNeed, ServiceGapRecorded
from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, NotFound
from referral.access import coordination_case
from referral.context import ReferralContext
from referral.domain.matching import Candidate, Person, population_group, rank
from referral.schemas.needs import AssessmentRequest, CandidatePublic, MatchResult, NeedMatch
from referral.store import NeedsAssessment, Referral, ReferralCase, ServiceGap, split
from referral.store.directory import all_facilities
from referral.usecases.privacy import ASSESSMENT, audit

TABLE = "needs_assessment"
WITHDRAWN = "consent to referral was withdrawn: nothing is done on the case until renewed"


def person_of(case: ReferralCase, assessment: NeedsAssessment | None) -> Person:
    return Person(
        sex=case.sex,
        age_band=AgeBand(case.age_band),
        is_child=case.is_child,
        nationality=case.nationality,
        exploitation_types=tuple(split(case.exploitation_types)),
        province_code=case.province_code,
        languages=tuple(split(assessment.languages)) if assessment else (),
    )


def refuse_if_withdrawn(case: ReferralCase) -> None:
    """Nothing is done on a case whose consent to referral was withdrawn (409)."""
    if case.consent_withdrawn_at is not None:
        raise Conflict(WITHDRAWN, code="consent_withdrawn")


async def assessment_of(uow: UnitOfWork, case: ReferralCase, doing: str) -> NeedsAssessment:
    """The case's assessment, which ``doing`` (matching, referring) needs (409 without)."""
    assessment = await uow.session.get(NeedsAssessment, case.id)
    if assessment is None:
        raise Conflict(f"assess the case's needs before {doing}", code="not_assessed")
    return assessment


async def assess(
    uow: UnitOfWork,
    context: ReferralContext,
    case: ReferralCase,
    request: AssessmentRequest,
    actor: str,
) -> NeedsAssessment:
    """Record (or replace) the case's needs assessment; wishes and notes are sealed."""
    assessment = await uow.session.get(NeedsAssessment, case.id)
    if assessment is None:
        assessment = NeedsAssessment(referral_case_id=case.id)  # type: ignore[call-arg]
    assessment.needs = ",".join(dict.fromkeys(request.needs))
    assessment.urgency = request.urgency
    assessment.special_needs = ",".join(dict.fromkeys(request.special_needs))
    assessment.languages = ",".join(dict.fromkeys(request.languages))
    assessment.wishes_sealed = (
        context.seal(request.wishes, TABLE, case.id, "wishes_sealed") if request.wishes else None
    )
    assessment.notes_sealed = (
        context.seal(request.notes, TABLE, case.id, "notes_sealed") if request.notes else None
    )
    assessment.assessed_by = actor
    assessment.assessed_at = context.clock()
    uow.session.add(assessment)
    return assessment


async def record_assessment(
    database: Database,
    context: ReferralContext,
    principal: Principal,
    case_id: UUID,
    request: AssessmentRequest,
) -> NeedsAssessment:
    """The coordinator records the case's needs assessment (audited as a write)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        refuse_if_withdrawn(case)
        assessment = await assess(uow, context, case, request, str(principal.actor))
        await audit(
            uow.session, principal, AuditAction.WRITE, ASSESSMENT, case.id, "needs_assessment"
        )
        await uow.commit()
    return assessment


async def read_assessment(
    database: Database, principal: Principal, case_id: UUID
) -> NeedsAssessment:
    """The case's needs assessment, its reading audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        assessment = await uow.session.get(NeedsAssessment, case.id)
        if assessment is None:
            raise NotFound("needs assessment")
        await audit(
            uow.session, principal, AuditAction.READ, ASSESSMENT, case.id, "case_management"
        )
        await uow.commit()
    return assessment


async def match(
    database: Database, context: ReferralContext, principal: Principal, case_id: UUID
) -> MatchResult:
    """Candidates for each assessed need, best first with reasons; a need nobody can meet
    is recorded as a service gap."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        refuse_if_withdrawn(case)
        assessment = await assessment_of(uow, case, "matching")
        matches = []
        for need in [ReferralNeed(n) for n in split(assessment.needs)]:
            ranked = await candidates_for(uow.session, case, assessment, need)
            gap = not ranked and await record_gap(uow, context, case, need)
            matches.append(
                NeedMatch(
                    need=need,
                    candidates=[
                        CandidatePublic(
                            facility_id=UUID(c.facility.facility_id),
                            organisation_id=c.facility.organisation_id,
                            facility_name=c.facility.name,
                            facility_type=c.facility.facility_type,
                            province_code=c.facility.province_code,
                            beds_free=c.facility.beds_free,
                            reasons=c.reasons,
                        )
                        for c in ranked
                    ],
                    gap_recorded=not ranked or bool(gap),
                )
            )
        await uow.commit()
    return MatchResult(
        referral_case_id=case.id,
        population_group=population_group(case.sex, case.is_child),
        matches=matches,
    )


async def tried_facilities(session: AsyncSession, case_id: UUID) -> set[str]:
    """Facilities this case was already referred to (a re-route skips them)."""
    query = select(Referral.facility_id).where(col(Referral.referral_case_id) == case_id)
    return {str(facility_id) for facility_id in (await session.exec(query)).all()}


async def candidates_for(
    session: AsyncSession,
    case: ReferralCase,
    assessment: NeedsAssessment | None,
    need: ReferralNeed,
    *,
    excluding: set[str] | None = None,
) -> list[Candidate]:
    needs = [ReferralNeed(n) for n in split(assessment.needs)] if assessment else [need]
    facilities = [
        f for f in await all_facilities(session) if f.facility_id not in (excluding or set())
    ]
    return rank(facilities, person_of(case, assessment), need, needs)


async def record_gap(
    uow: UnitOfWork, context: ReferralContext, case: ReferralCase, need: ReferralNeed
) -> bool:
    """Record that no provider can meet ``need`` for this case (once per case and need)."""
    known = await uow.session.exec(
        select(ServiceGap).where(
            col(ServiceGap.referral_case_id) == case.id, col(ServiceGap.need) == need
        )
    )
    if known.first() is not None:
        return False
    gap = ServiceGap(
        referral_case_id=case.id,
        population_group=population_group(case.sex, case.is_child),
        need=need,
        province_code=case.province_code,
        recorded_at=context.clock(),
    )
    uow.session.add(gap)
    uow.record(
        ServiceGapRecorded(
            referral_case_id=case.id,
            gap_id=gap.id,
            population_group=population_group(case.sex, case.is_child),
            need=need,
            province_code=case.province_code,
            recorded_at=gap.recorded_at,
        )
    )
    return True
