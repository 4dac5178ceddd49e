"""Identification's case routes: cases, decisions, consents, the non-punishment check."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from identification import non_punishment, queries
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
from identification.case_models import (
    CasePublic,
    CaseSummary,
    ConsentCreate,
    ConsentPublic,
    DecisionCreate,
    DecisionPublic,
    NonPunishmentAnswer,
    NonPunishmentCheck,
)
from identification.consenting import record_consent
from identification.context import ContextDep
from identification.deciding import record_decision
from identification.decisions import CaseStatus
from identification.proceedings import access as proceedings_access
from identification.queries import CaseFilter
from identification.store import IdentificationCase
from nrm_contracts.events.identification import DecisionStage
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.clock import today_in_cambodia
from nrm_runtime.errors import NotFound, ProblemError, error_responses
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
    today = today_in_cambodia(context.clock)
    async with database.session() as session:
        cases, next_cursor = await queries.list_cases(
            session,
            visible_to=None if _sees_all(principal, context) else principal.organisation,
            filters=CaseFilter(status_, stage, agency, province, overdue),
            page=page,
            today=today,
        )
    return Page(items=[queries.summary(c, today) for c in cases], next_cursor=next_cursor)


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
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await uow.session.get(IdentificationCase, case_id)
        if case is None or not (
            _sees_all(principal, context)
            or await queries.organisation_screened_case(
                uow.session, case.id, principal.organisation
            )
        ):
            raise NotFound("case")  # 404, not 403: do not confirm that it exists
        answer = await queries.case_detail(
            uow.session,
            case,
            today_in_cambodia(context.clock),
            context.keys,
            with_persons=_sees_all(principal, context),
        )
        await record_access(
            uow.session,
            principal,
            action=AuditAction.READ,
            resource_type="identification_case",
            resource_ids=str(case.id),
            purpose="identification",
        )
        await uow.commit()
    return answer


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
    async with database.unit_of_work(actor=principal.actor) as uow:
        if asked.proceedings_id is not None:
            await proceedings_access.asked_about(
                uow.session,
                asked.proceedings_id,
                principal,
                context.settings.competent_authority_organisations,
            )
        answer = await non_punishment.check(uow.session, asked, context.keys)
        # Found: the victim status of these cases was disclosed to the caller. Not found:
        # the look-up itself is recorded (no name in the entry: the names stay unlogged).
        await record_access(
            uow.session,
            principal,
            action=AuditAction.DISCLOSE if answer.matches else AuditAction.READ,
            resource_type="identification_case" if answer.matches else "non_punishment_check",
            resource_ids=[str(match.case_id) for match in answer.matches] or "no_match",
            purpose="non_punishment",
        )
        await uow.commit()
    return answer
