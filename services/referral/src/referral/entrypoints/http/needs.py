"""Routes of a case's needs: the assessment, matching with providers, the referral to
one of them, and the service-gap report."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from nrm_contracts.events.referral import PopulationGroup, ReferralNeed
from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep
from referral.access import (
    COORDINATION_CASE,
    COORDINATION_PERSON,
    GAP_REPORT,
    Analyst,
    Coordinator,
    require_ministry,
)
from referral.context import ContextDep
from referral.schemas.needs import AssessmentPublic, AssessmentRequest, GapPublic, MatchResult
from referral.schemas.referrals import ReferralCreate, ReferralPublic
from referral.usecases import assessment, referrals
from referral.views.needs import assessment_public, gap_report
from referral.views.referrals import referral_public

router = APIRouter(tags=["needs and matching"])


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
    recorded = await assessment.record_assessment(database, context, principal, case_id, body)
    return assessment_public(context, recorded)


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
    found = await assessment.read_assessment(database, principal, case_id)
    return assessment_public(context, found)


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
    return await assessment.match(database, context, principal, case_id)


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
    referral = await referrals.refer(database, context, principal, case_id, body)
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
    return await gap_report(database, group, need, province)
