"""Repatriation's routes for Cambodian officers (MOSVY, MOFAIC): open outbound cases,
complete Cambodia's steps, follow every case, its timeline and its deadlines."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status
from sqlmodel import col, select

from nrm_contracts.events.repatriation import CaseOrigin, ClosureOutcome, Direction
from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import OrganisationType, Principal, Role
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import UnitOfWork
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep, RequestModel, encode_cursor
from nrm_runtime.policy import Objects, policy
from nrm_runtime.reference_codes import EVERY_ROLE, AnyRole
from repatriation import cases, opening, views
from repatriation.access import OFFICER_ROLES, CaseManager, Officer, case_for_officer
from repatriation.context import RepatriationDep
from repatriation.models import (
    BorderPointPublic,
    CasePublic,
    CaseSummary,
    ConsentChange,
    DeadlinePublic,
    OutboundCaseCreate,
    SopSummary,
    StepSubmission,
    Timeline,
)
from repatriation.privacy import audit, audit_disclosures
from repatriation.sop import HOME_COUNTRY
from repatriation.store import CaseStatus, ClockState, StepClock, open_case_for_identification

router = APIRouter(tags=["repatriation cases"])

MINISTRY = (OrganisationType.MINISTRY,)
# Cambodia's ministries run every case together (MOSVY, MOFAIC): no case is one's own.
SHARED_CASE_READ = policy(
    *OFFICER_ROLES, objects=Objects.ANY, personal_data=True, organisation_types=MINISTRY
)
SHARED_CASE_CHANGE = policy(
    Role.CASE_MANAGER, objects=Objects.ANY, personal_data=True, organisation_types=MINISTRY
)


async def _audit_change(uow: UnitOfWork, principal: Principal, case_id: UUID, purpose: str) -> None:
    """A change of the case answers with its person (a write) and may send a message
    to the counterpart (a disclosure)."""
    await audit(uow.session, principal, AuditAction.WRITE, case_id, purpose)
    await audit_disclosures(uow.session, principal)


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
    if form.counterpart_country == HOME_COUNTRY:
        raise ProblemError(
            422, "invalid_input", "the counterpart is another country", "counterpart_country"
        )
    template, procedure = opening.choose_template(
        context,
        form.counterpart_country,
        Direction.OUTBOUND,
        form.sop_version,
        cambodian_date(context.clock()),
    )
    case = opening.new_case(
        context,
        direction=Direction.OUTBOUND,
        country=form.counterpart_country,
        template=template,
        origin=CaseOrigin.OFFICER,
        opened_by=principal.organisation,
        person=form.person,
        consent=form.consent_to_return,
        identification_case_id=form.identification_case_id,
    )
    async with database.unit_of_work(actor=principal.actor) as uow:
        if await open_case_for_identification(uow.session, form.identification_case_id):
            raise ProblemError(
                409,
                "already_open",
                "this identification case has an open repatriation case",
                "identification_case_id",
            )
        opening.open_case(context, uow, case, procedure)
        await audit(uow.session, principal, AuditAction.WRITE, case.id, "case_opening")
        await uow.commit()
        return await views.case_view(context, uow.session, case)


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
    async with database.session() as session:
        return await views.case_page(
            context, session, page, country=counterpart_country, status=case_status
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
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await case_for_officer(uow.session, case_id)
        view = await views.case_view(context, uow.session, case)
        await audit(uow.session, principal, AuditAction.READ, case.id, "case_review")
        await uow.commit()
        return view


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
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await case_for_officer(uow.session, case_id)
        await cases.complete_step(
            context,
            uow,
            case,
            submission.to_domain(),
            country=HOME_COUNTRY,
            organisation=principal.organisation,
        )
        await _audit_change(uow, principal, case.id, "case_step")
        await uow.commit()
        return await views.case_view(context, uow.session, case)


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
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await case_for_officer(uow.session, case_id)
        await cases.change_consent(context, uow, case, change, principal.organisation)
        await _audit_change(uow, principal, case.id, "consent_change")
        await uow.commit()
        return await views.case_view(context, uow.session, case)


class Closure(RequestModel):
    outcome: ClosureOutcome


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
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await case_for_officer(uow.session, case_id)
        await cases.close_case(context, uow, case, closure.outcome, principal.organisation)
        await _audit_change(uow, principal, case.id, "case_closure")
        await uow.commit()
        return await views.case_view(context, uow.session, case)


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
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await case_for_officer(uow.session, case_id)
        timeline = await views.timeline(context.keys, uow.session, case)
        await audit(uow.session, principal, AuditAction.READ, case.id, "case_review")
        await uow.commit()
        return timeline


@router.get(
    "/deadlines",
    response_model=Page[DeadlinePublic],
    responses=error_responses(401, 403, 422),
    tags=["deadlines"],
    openapi_extra=policy(*OFFICER_ROLES, objects=Objects.NONE, organisation_types=MINISTRY),
)
async def list_deadlines(
    database: DatabaseDep,
    principal: Officer,
    page: PageDep,
    state: Annotated[ClockState, Query(description="`missed`: the escalation list")] = (
        ClockState.MISSED
    ),
) -> Page[DeadlinePublic]:
    """Step clocks in one state, earliest due first: by default the missed ones."""
    query = (
        select(StepClock)
        .where(col(StepClock.state) == state)
        .order_by(col(StepClock.due_on), col(StepClock.id))
    )
    offset = _offset(page.cursor)
    async with database.session() as session:
        clocks = list((await session.exec(query.offset(offset).limit(page.limit + 1))).all())
    next_cursor = None
    if len(clocks) > page.limit:
        clocks = clocks[: page.limit]
        next_cursor = encode_cursor({"offset": offset + page.limit})
    return Page(
        items=[DeadlinePublic.model_validate(clock, from_attributes=True) for clock in clocks],
        next_cursor=next_cursor,
    )


def _offset(cursor: dict[str, object] | None) -> int:
    if cursor is None:
        return 0
    offset = cursor.get("offset")
    if not isinstance(offset, int) or offset < 0:
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return offset


@router.get(
    "/sops",
    response_model=list[SopSummary],
    responses=error_responses(401, 403),
    tags=["sops"],
    openapi_extra=policy(*OFFICER_ROLES, objects=Objects.NONE, organisation_types=MINISTRY),
)
async def list_sops(context: RepatriationDep, principal: Officer) -> list[SopSummary]:
    """The bilateral procedures loaded, every version."""
    return [
        SopSummary(
            id=template.id,
            version=template.version,
            title=template.title,
            counterpart_country=template.counterpart_country,
            status=template.status,
            effective_from=template.effective_from,
            directions=[d for d in Direction if template.procedure(d) is not None],
        )
        for template in context.library.templates
    ]


@router.get(
    "/reference/border-points",
    response_model=list[BorderPointPublic],
    responses=error_responses(401, 403),
    tags=["reference"],
    openapi_extra=EVERY_ROLE,
)
async def list_border_points(
    context: RepatriationDep, principal: AnyRole
) -> list[BorderPointPublic]:
    """The border points the loaded procedures hand over at, by code: what a handover's
    `border_point` detail takes. A point named by several procedures is listed once."""
    points: dict[tuple[str, str], BorderPointPublic] = {}
    for template in context.library.templates:
        for point in template.border_points:
            key = (point.code, template.counterpart_country)
            listed = points.setdefault(
                key,
                BorderPointPublic(
                    code=point.code,
                    name=point.name,
                    province_code=point.province_code,
                    counterpart_country=template.counterpart_country,
                    reception_organisation=point.reception_organisation,
                    sops=[],
                ),
            )
            listed.sops.append(f"{template.id}@{template.version}")
    return sorted(points.values(), key=lambda point: (point.counterpart_country, point.code))
