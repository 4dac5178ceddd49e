"""What readers see of a case: the case with its allowed steps and clocks, and the list
of cases; an officer's or a counterpart's read of one case is audited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts.events.repatriation import CaseOrigin, ClosureOutcome, Direction
from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.errors import NotFound
from nrm_runtime.http import Page, PageQuery
from nrm_runtime.paging import oldest_first, page_of
from repatriation.context import Repatriation
from repatriation.domain import rules
from repatriation.domain.clocks import step_overdue
from repatriation.domain.rules import ConsentBasis, ConsentStatus
from repatriation.domain.sop import StepKind
from repatriation.schemas.cases import (
    AllowedStep,
    CasePublic,
    CaseSummary,
    CompletedStep,
    ConsentPublic,
    HandoverPublic,
    PersonPublic,
    SopRef,
)
from repatriation.store import (
    CaseStatus,
    ClockState,
    RepatriationCase,
    audit,
    case_for_counterpart,
    case_for_officer,
    clocks_of,
    person_of,
    step_details,
    steps_of,
)

View = TypeVar("View")

_LIVE = (ClockState.RUNNING, ClockState.MISSED)


def _sop_ref(context: Repatriation, case: RepatriationCase) -> SopRef:
    template = context.library.get(case.sop_id, case.sop_version)
    title = template.title if template else "(template not loaded)"
    return SopRef(id=case.sop_id, version=case.sop_version, title=title)


def case_summary(context: Repatriation, case: RepatriationCase) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        direction=Direction(case.direction),
        counterpart_country=case.counterpart_country,
        sop=_sop_ref(context, case),
        status=case.status,
        last_step=case.last_step,
        is_child=case.is_child,
        opened_at=case.opened_at,
    )


async def case_view(
    context: Repatriation, session: AsyncSession, case: RepatriationCase
) -> CasePublic:
    steps = await steps_of(session, case.id)
    clocks = {clock.step: clock for clock in await clocks_of(session, case.id)}
    now = context.clock()
    allowed: list[AllowedStep] = []
    template = context.library.get(case.sop_id, case.sop_version)
    procedure = template.procedure(Direction(case.direction)) if template else None
    if procedure is not None:
        facts = rules.CaseFacts(
            is_open=case.status == CaseStatus.OPEN,
            is_child=case.is_child,
            consent_given=case.consent_status == ConsentStatus.GIVEN,
            last_step=case.last_step,
            completed_kinds=frozenset(StepKind(step.kind) for step in steps),
        )
        for step in rules.allowed_steps(procedure, facts):
            clock = clocks.get(step.id)
            running = clock if clock is not None and clock.state in _LIVE else None
            allowed.append(
                AllowedStep(
                    step=step.id,
                    title=step.title,
                    kind=step.kind,
                    applies_to=step.applies_to,
                    acting_country=step.acting_country,
                    agency=step.agency,
                    required_documents=list(step.required_documents),
                    required_details=[detail.value for detail in step.required_details],
                    due_on=running.due_on if running else None,
                    overdue=running is not None and step_overdue(running.due_on, now),
                )
            )
    return CasePublic(
        id=case.id,
        direction=Direction(case.direction),
        counterpart_country=case.counterpart_country,
        counterpart_reference=case.counterpart_reference,
        sop=_sop_ref(context, case),
        origin=CaseOrigin(case.origin),
        identification_case_id=case.identification_case_id,
        status=case.status,
        outcome=ClosureOutcome(case.outcome) if case.outcome else None,
        is_child=case.is_child,
        person=PersonPublic.model_validate(person_of(context.keys, case)),
        consent_to_return=ConsentPublic(
            status=ConsentStatus(case.consent_status),
            basis=ConsentBasis(case.consent_basis),
            recorded_on=case.consent_recorded_on,
        ),
        handover=HandoverPublic(
            status=case.handover_status,
            handover_date=case.handover_date,
            border_point=case.border_point,
            reception_organisation=case.reception_organisation,
            reception_province_code=case.reception_province_code,
        ),
        steps=[
            CompletedStep(
                sequence=step.sequence,
                step=step.step,
                acting_country=step.acting_country,
                organisation=step.organisation,
                documents=step.documents,
                details=step_details(context.keys, step),
                completed_at=step.completed_at,
            )
            for step in steps
        ],
        allowed_steps=allowed,
        opened_at=case.opened_at,
        closed_at=case.closed_at,
    )


async def read_case(
    database: Database,
    principal: Principal,
    case_id: UUID,
    shape: Callable[[AsyncSession, RepatriationCase], Awaitable[View]],
    *,
    country: str | None = None,
) -> View:
    """The case shaped by ``shape``, its read audited: an officer's (``country`` None) or
    a counterpart's, who sees its own country's cases only (another's is not found)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        if country is None:
            case = await case_for_officer(uow.session, case_id)
        else:
            found = await case_for_counterpart(uow.session, case_id, country)
            if found is None:
                raise NotFound("repatriation case")
            case = found
        view = await shape(uow.session, case)
        purpose = "case_review" if country is None else "liaison_review"
        await audit(uow.session, principal, AuditAction.READ, case.id, purpose)
        await uow.commit()
        return view


async def read_case_view(
    database: Database,
    context: Repatriation,
    principal: Principal,
    case_id: UUID,
    *,
    country: str | None = None,
) -> CasePublic:
    """A case, with the steps allowed now, as an officer or a counterpart reads it."""

    async def shape(session: AsyncSession, case: RepatriationCase) -> CasePublic:
        return await case_view(context, session, case)

    return await read_case(database, principal, case_id, shape, country=country)


async def list_cases(
    database: Database,
    context: Repatriation,
    page: PageQuery,
    *,
    country: str | None = None,
    status: CaseStatus | None = None,
) -> Page[CaseSummary]:
    """Cases oldest first, optionally of one counterpart country or status."""
    async with database.session() as session:
        return await case_page(context, session, page, country=country, status=status)


async def case_page(
    context: Repatriation,
    session: AsyncSession,
    page: PageQuery,
    *,
    country: str | None = None,
    status: CaseStatus | None = None,
) -> Page[CaseSummary]:
    """Cases oldest first, optionally of one counterpart country or status."""
    query = select(RepatriationCase)
    if country is not None:
        query = query.where(col(RepatriationCase.counterpart_country) == country)
    if status is not None:
        query = query.where(col(RepatriationCase.status) == status)
    found = (await session.exec(oldest_first(query, RepatriationCase, page))).all()
    cases, next_cursor = page_of(found, page)
    return Page(items=[case_summary(context, case) for case in cases], next_cursor=next_cursor)
