"""Repatriation's routes for Cambodian officers (MOSVY, MOFAIC): open outbound cases,
complete Cambodia's steps, follow every case and its timeline."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from nrm_runtime.auth import OrganisationType, Role
from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from nrm_runtime.policy import Objects, policy
from repatriation.access import OFFICER_ROLES, CaseManager, Officer
from repatriation.context import RepatriationDep
from repatriation.schemas.cases import (
    CasePublic,
    CaseSummary,
    Closure,
    ConsentChange,
    OutboundCaseCreate,
    StepSubmission,
)
from repatriation.schemas.timeline import Timeline
from repatriation.store import CaseStatus
from repatriation.usecases import closure as closing
from repatriation.usecases import consent, opening, steps
from repatriation.views import cases as views_cases
from repatriation.views.timeline import read_timeline

router = APIRouter(tags=["repatriation cases"])

MINISTRY = (OrganisationType.MINISTRY,)
# Cambodia's ministries run every case together (MOSVY, MOFAIC): no case is one's own.
SHARED_CASE_READ = policy(
    *OFFICER_ROLES, objects=Objects.ANY, personal_data=True, organisation_types=MINISTRY
)
SHARED_CASE_CHANGE = policy(
    Role.CASE_MANAGER, objects=Objects.ANY, personal_data=True, organisation_types=MINISTRY
)


@router.post(
    "/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=CasePublic,
    responses=error_responses(401, 403, 409, 422),
    openapi_extra=policy(
        Role.CASE_MANAGER, objects=Objects.NONE, personal_data=True, organisation_types=MINISTRY
    ),
)
async def open_outbound_case(
    form: OutboundCaseCreate,
    database: DatabaseDep,
    context: RepatriationDep,
    principal: CaseManager,
) -> CasePublic:
    """Propose returning a foreign national identified in Cambodia (names the
    identification case). The case runs the SOP in force with the counterpart country."""
    return await opening.open_outbound_case(database, context, principal, form)


@router.get(
    "/cases",
    response_model=Page[CaseSummary],
    responses=error_responses(401, 403, 422),
    openapi_extra=policy(*OFFICER_ROLES, objects=Objects.NONE, organisation_types=MINISTRY),
)
async def list_cases(
    database: DatabaseDep,
    context: RepatriationDep,
    principal: Officer,
    page: PageDep,
    counterpart_country: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    case_status: Annotated[CaseStatus | None, Query(alias="status")] = None,
) -> Page[CaseSummary]:
    """Every repatriation case, oldest first."""
    return await views_cases.list_cases(
        database, context, page, country=counterpart_country, status=case_status
    )


@router.get(
    "/cases/{case_id}",
    response_model=CasePublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=SHARED_CASE_READ,
)
async def get_case(
    case_id: UUID, database: DatabaseDep, context: RepatriationDep, principal: Officer
) -> CasePublic:
    """A case: its person, consent, completed steps, and the steps allowed now with their
    acting country, agency, required documents and due dates."""
    return await views_cases.read_case_view(database, context, principal, case_id)


@router.post(
    "/cases/{case_id}/steps",
    status_code=status.HTTP_201_CREATED,
    response_model=CasePublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=policy(
        *OFFICER_ROLES, objects=Objects.ANY, personal_data=True, organisation_types=MINISTRY
    ),
)
async def complete_cambodian_step(
    case_id: UUID,
    submission: StepSubmission,
    database: DatabaseDep,
    context: RepatriationDep,
    principal: Officer,
) -> CasePublic:
    """Complete one of Cambodia's steps; it is sent to the counterpart (signed, retried).
    A step out of order is refused with 409 naming the steps allowed now."""
    return await steps.complete_cambodian_step(
        database, context, principal, case_id, submission.to_domain()
    )


@router.post(
    "/cases/{case_id}/consent",
    response_model=CasePublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=SHARED_CASE_CHANGE,
)
async def record_consent(
    case_id: UUID,
    change: ConsentChange,
    database: DatabaseDep,
    context: RepatriationDep,
    principal: CaseManager,
) -> CasePublic:
    """Record the consent to return withdrawn (no handover while it is) or given again."""
    return await consent.change_consent(database, context, principal, case_id, change)


@router.post(
    "/cases/{case_id}/closure",
    response_model=CasePublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=SHARED_CASE_CHANGE,
)
async def close_case(
    case_id: UUID,
    closure: Closure,
    database: DatabaseDep,
    context: RepatriationDep,
    principal: CaseManager,
) -> CasePublic:
    """End a case before its procedure does: consent withdrawn, or the person is not
    returned. The counterpart is told."""
    return await closing.close_case(database, context, principal, case_id, closure.outcome)


@router.get(
    "/cases/{case_id}/timeline",
    response_model=Timeline,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=SHARED_CASE_READ,
)
async def case_timeline(
    case_id: UUID, database: DatabaseDep, context: RepatriationDep, principal: Officer
) -> Timeline:
    """Everything that happened on the case, oldest first: steps, every message sent and
    received (with its delivery state), missed deadlines."""
    return await read_timeline(database, context, principal, case_id)
