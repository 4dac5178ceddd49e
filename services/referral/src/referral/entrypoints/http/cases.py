"""Routes of referral cases."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from referral.access import COORDINATION_CASE, COORDINATION_LIST, Coordinator
from referral.schemas.cases import ReferralCasePublic
from referral.views import cases

router = APIRouter(tags=["referral cases"])


@router.get(
    "/referral-cases",
    response_model=Page[ReferralCasePublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=COORDINATION_LIST,
)
async def list_referral_cases(
    database: DatabaseDep,
    principal: Coordinator,
    page: PageDep,
    identification_case_id: Annotated[
        UUID | None,
        Query(description="Only the referral case opened for this identification case"),
    ] = None,
) -> Page[ReferralCasePublic]:
    """Referral cases, oldest first; with `identification_case_id`, the one opened for that
    identification case (an empty page until identification's decision has reached
    referral)."""
    return await cases.referral_cases(database, page, identification_case_id)


@router.get(
    "/referral-cases/{case_id}",
    response_model=ReferralCasePublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=COORDINATION_CASE,
)
async def get_referral_case(
    case_id: UUID, database: DatabaseDep, principal: Coordinator
) -> ReferralCasePublic:
    """One referral case."""
    return await cases.referral_case(database, case_id)
