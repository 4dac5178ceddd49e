"""Routes of a case's needs: the assessment, matching with providers, the referral to
one of them, and the service-gap report."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from sqlmodel import col, func, select

from nrm_contracts.events.referral import PopulationGroup, ReferralNeed
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep
from referral.access import (
    COORDINATION_CASE,
    COORDINATION_PERSON,
    GAP_REPORT,
    Analyst,
    Coordinator,
    coordination_case,
    require_ministry,
)
from referral.assessment import TABLE, assess, candidates_for, person_of, record_gap, split
from referral.context import ContextDep
from referral.directory import as_facility, facility
from referral.matching import population_group, refusal
from referral.models import (
    AssessmentPublic,
    AssessmentRequest,
    CandidatePublic,
    GapPublic,
    MatchResult,
    NeedMatch,
    ReferralCreate,
    ReferralPublic,
)
from referral.referrals import draft
from referral.store import NeedsAssessment, ServiceGap
from referral.views import referral_public

router = APIRouter(tags=["needs and matching"])

WITHDRAWN = "consent to referral was withdrawn: nothing is done on the case until renewed"


def _assessment_public(context: ContextDep, assessment: NeedsAssessment) -> AssessmentPublic:
    key = assessment.referral_case_id
    return AssessmentPublic(
        referral_case_id=key,
        needs=[ReferralNeed(n) for n in split(assessment.needs)],
        urgency=assessment.urgency,
        special_needs=split(assessment.special_needs),
        languages=split(assessment.languages),
        wishes=context.open(assessment.wishes_sealed, TABLE, key, "wishes_sealed"),
        notes=context.open(assessment.notes_sealed, TABLE, key, "notes_sealed"),
        assessed_at=assessment.assessed_at,
    )


@router.put(
    "/referral-cases/{case_id}/assessment",
    response_model=AssessmentPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=COORDINATION_PERSON,
)
async def put_assessment(
    case_id: UUID,
    body: AssessmentRequest,
    database: DatabaseDep,
    context: ContextDep,
    principal: Coordinator,
) -> AssessmentPublic:
    """Record the case's needs assessment (replacing an earlier one)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        if case.consent_withdrawn_at is not None:
            raise ProblemError(409, "consent_withdrawn", WITHDRAWN)
        assessment = await assess(uow, context, case, body, str(principal.actor))
        await record_access(
            uow.session,
            principal,
            action=AuditAction.WRITE,
            resource_type="needs_assessment",
            resource_ids=str(case.id),
            purpose="needs_assessment",
        )
        await uow.commit()
    return _assessment_public(context, assessment)


@router.get(
    "/referral-cases/{case_id}/assessment",
    response_model=AssessmentPublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=COORDINATION_PERSON,
)
async def get_assessment(
    case_id: UUID, database: DatabaseDep, context: ContextDep, principal: Coordinator
) -> AssessmentPublic:
    """The case's needs assessment, the person's wishes and notes opened (audited)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        assessment = await uow.session.get(NeedsAssessment, case.id)
        if assessment is None:
            raise NotFound("needs assessment")
        await record_access(
            uow.session,
            principal,
            action=AuditAction.READ,
            resource_type="needs_assessment",
            resource_ids=str(case.id),
            purpose="case_management",
        )
        await uow.commit()
    return _assessment_public(context, assessment)


@router.post(
    "/referral-cases/{case_id}/matching",
    response_model=MatchResult,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=COORDINATION_CASE,
)
async def match(
    case_id: UUID, database: DatabaseDep, context: ContextDep, principal: Coordinator
) -> MatchResult:
    """Candidates for each assessed need, best first with reasons, from referral's own
    directory of the registry; a need nobody can meet is recorded as a service gap."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        if case.consent_withdrawn_at is not None:
            raise ProblemError(409, "consent_withdrawn", WITHDRAWN)
        assessment = await uow.session.get(NeedsAssessment, case.id)
        if assessment is None:
            raise ProblemError(409, "not_assessed", "assess the case's needs before matching")
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


@router.post(
    "/referral-cases/{case_id}/referrals",
    response_model=ReferralPublic,
    status_code=201,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=COORDINATION_CASE,
)
async def create_referral(
    case_id: UUID,
    body: ReferralCreate,
    database: DatabaseDep,
    context: ContextDep,
    principal: Coordinator,
) -> ReferralPublic:
    """Draft a referral of the case to one facility that can meet the needs."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        if case.consent_withdrawn_at is not None:
            raise ProblemError(409, "consent_withdrawn", WITHDRAWN)
        assessment = await uow.session.get(NeedsAssessment, case.id)
        if assessment is None:
            raise ProblemError(409, "not_assessed", "assess the case's needs before referring")
        assessed = split(assessment.needs)
        for index, need in enumerate(body.needs):
            if need not in assessed:
                raise ProblemError(
                    422,
                    "invalid_input",
                    f"{need} is not among the assessed needs",
                    f"needs.{index}",
                )
        view = await facility(uow.session, body.facility_id)
        if view is None:
            raise ProblemError(
                422, "unknown_facility", "no such facility in the registry", "facility_id"
            )
        person = person_of(case, assessment)
        for need in body.needs:
            why_not = refusal(as_facility(view), person, need)
            if why_not is not None:
                raise ProblemError(
                    422, "facility_cannot_serve", f"{view.name} {why_not} ({need})", "facility_id"
                )
        referral = draft(uow, context, case, view, list(body.needs), body.officer_contact)
        await uow.commit()
    return referral_public(referral, [], principal)


@router.get(
    "/gaps",
    response_model=list[GapPublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=GAP_REPORT,
)
async def gaps(
    database: DatabaseDep,
    principal: Analyst,
    group: PopulationGroup | None = None,
    need: ReferralNeed | None = None,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
) -> list[GapPublic]:
    """The service-gap report: how many persons' needs nobody could meet, by population
    group, need and province (counts only)."""
    require_ministry(principal)
    query = select(
        ServiceGap.population_group, ServiceGap.need, ServiceGap.province_code, func.count()
    ).group_by(
        col(ServiceGap.population_group), col(ServiceGap.need), col(ServiceGap.province_code)
    )
    if group is not None:
        query = query.where(col(ServiceGap.population_group) == group)
    if need is not None:
        query = query.where(col(ServiceGap.need) == need)
    if province is not None:
        query = query.where(col(ServiceGap.province_code) == province)
    async with database.session() as session:
        rows = (await session.exec(query)).all()
    return [
        GapPublic(population_group=g, need=n, province_code=p, count=c)
        for g, n, p, c in sorted(rows, key=lambda r: (-r[3], r[0], r[1], r[2] or ""))
    ]
