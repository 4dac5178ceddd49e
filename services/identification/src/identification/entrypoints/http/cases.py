"""Identification's case routes: cases, decisions, consents, the non-punishment check."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from identification.access import (
    CASE_LIST,
    CASE_READ,
    CONSENT_CHANGE,
    DECISION,
    LAW_ENFORCEMENT_ROLES,
    NON_PUNISHMENT_CHECK,
    is_competent_authority,
    is_law_enforcement,
)
from identification.context import ContextDep
from identification.domain.decisions import CaseStatus
from identification.schemas.cases import (
    CasePublic,
    CaseSummary,
    ConsentCreate,
    ConsentPublic,
    DecisionCreate,
    DecisionPublic,
    NonPunishmentAnswer,
    NonPunishmentCheck,
)
from identification.usecases.consents import record_consent
from identification.usecases.decisions import record_decision
from identification.views import cases, non_punishment
from identification.views.cases import CaseFilter
from nrm_contracts.events.identification import DecisionStage
from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.clock import today_in_cambodia
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep

router = APIRouter(tags=["cases"])

CaseReader = Annotated[Principal, require_roles(Role.SCREENER, Role.COMPETENT_AUTHORITY)]
Decider = Annotated[Principal, require_roles(Role.COMPETENT_AUTHORITY)]
Enforcer = Annotated[Principal, require_roles(*sorted(LAW_ENFORCEMENT_ROLES))]


def _sees_all(principal: Principal, context: ContextDep) -> bool:
    return is_competent_authority(principal, context.settings.competent_authority_organisations)


@router.get(
    "/cases",
    response_model=Page[CaseSummary],
    responses=error_responses(401, 403, 422),
    openapi_extra=CASE_LIST,
)
async def list_cases(
    database: DatabaseDep,
    principal: CaseReader,
    context: ContextDep,
    page: PageDep,
    status_: Annotated[CaseStatus | None, Query(alias="status")] = None,
    stage: DecisionStage | None = None,
    agency: Annotated[str | None, Query(max_length=64, description="Screened by")] = None,
    province: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    overdue: bool | None = None,
) -> Page[CaseSummary]:
    """Cases, oldest first: a screener's organisation sees its own, the Competent
    Authority all."""
    return await cases.case_page(
        database,
        visible_to=None if _sees_all(principal, context) else principal.organisation,
        filters=CaseFilter(status_, stage, agency, province, overdue),
        page=page,
        today=today_in_cambodia(context.clock),
    )


@router.get(
    "/cases/{case_id}",
    response_model=CasePublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=CASE_READ,
)
async def get_case(
    case_id: UUID, database: DatabaseDep, principal: CaseReader, context: ContextDep
) -> CasePublic:
    """One case with its screenings, decisions (with their grounds), consents, deadlines
    and the non-punishment flag (the read is audited)."""
    return await cases.visible_case(
        database,
        case_id,
        principal,
        context.keys,
        today=today_in_cambodia(context.clock),
        sees_all=_sees_all(principal, context),
    )


@router.post(
    "/cases/{case_id}/decisions",
    status_code=status.HTTP_201_CREATED,
    response_model=DecisionPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=DECISION,
)
async def decide(
    case_id: UUID,
    form: DecisionCreate,
    database: DatabaseDep,
    principal: Decider,
    context: ContextDep,
) -> DecisionPublic:
    """A decision of the Competent Authority: preliminary, then final."""
    if not _sees_all(principal, context):
        raise ProblemError(403, "forbidden", "only the Competent Authority decides")
    return await record_decision(
        database,
        case_id,
        form,
        principal,
        policy=context.policy,
        clock=context.clock,
        keys=context.keys,
    )


@router.post(
    "/cases/{case_id}/consents",
    status_code=status.HTTP_201_CREATED,
    response_model=ConsentPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=CONSENT_CHANGE,
)
async def change_consent(
    case_id: UUID,
    form: ConsentCreate,
    database: DatabaseDep,
    principal: CaseReader,
    context: ContextDep,
) -> ConsentPublic:
    """Record consent for one purpose given, refused or withdrawn."""
    return await record_consent(
        database,
        case_id,
        form,
        principal,
        may_see_all=_sees_all(principal, context),
        clock=context.clock,
    )


@router.post(
    "/non-punishment-checks",
    response_model=NonPunishmentAnswer,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=NON_PUNISHMENT_CHECK,
)
async def check_non_punishment(
    asked: NonPunishmentCheck,
    database: DatabaseDep,
    principal: Enforcer,
    context: ContextDep,
) -> NonPunishmentAnswer:
    """For law enforcement: is this person a presumed or identified victim? (POST: the
    names stay out of URLs and access logs.) Every check is audited, found or not:
    an officer looking people up by name is accountable for each look."""
    if not (is_law_enforcement(principal) or _sees_all(principal, context)):
        raise ProblemError(403, "forbidden", "for law enforcement and the Competent Authority")
    return await non_punishment.answer_check(
        database,
        asked,
        principal,
        context.keys,
        context.settings.competent_authority_organisations,
    )
