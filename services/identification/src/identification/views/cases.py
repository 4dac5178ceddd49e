"""Cases as the API gives them: the visibility rule, filters, pages, one case in full,
and the public shape of its decisions and consents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import ColumnElement
from sqlmodel import and_, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.domain.decisions import CaseStatus
from identification.schemas.cases import (
    CasePublic,
    CaseSummary,
    ConsentPublic,
    DeadlinesPublic,
    DecisionPublic,
    NonPunishmentPublic,
    ScreeningSummary,
)
from identification.store import ConsentRecord, Decision, IdentificationCase, Screening
from identification.store.queries import (
    consents_of,
    decisions_of,
    in_force,
    organisation_screened_case,
    persons_of_case,
    screenings_of,
)
from identification.store.sealing import open_rationale
from nrm_contracts.events.identification import DecisionStage
from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.errors import NotFound
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.http import Page, PageQuery
from nrm_runtime.paging import oldest_first, page_of


@dataclass(frozen=True)
class CaseFilter:
    status: CaseStatus | None = None
    stage: DecisionStage | None = None
    agency: str | None = None
    province: str | None = None
    overdue: bool | None = None


def _screened_by(organisation: str) -> ColumnElement[bool]:
    return col(IdentificationCase.id).in_(
        select(Screening.case_id).where(col(Screening.reporting_organisation) == organisation)
    )


def _overdue(today: date) -> ColumnElement[bool]:
    return and_(
        col(IdentificationCase.next_deadline_on).is_not(None),
        col(IdentificationCase.next_deadline_on) < today,
    )


async def case_page(
    database: Database,
    *,
    visible_to: str | None,
    filters: CaseFilter,
    page: PageQuery,
    today: date,
) -> Page[CaseSummary]:
    """One page of case summaries, oldest first (``visible_to``: see :func:`list_cases`)."""
    async with database.session() as session:
        cases, next_cursor = await list_cases(
            session, visible_to=visible_to, filters=filters, page=page, today=today
        )
    return Page(items=[summary(c, today) for c in cases], next_cursor=next_cursor)


async def visible_case(
    database: Database,
    case_id: UUID,
    principal: Principal,
    keys: KeyRing,
    *,
    today: date,
    sees_all: bool,
) -> CasePublic:
    """One case in full, to an organisation that screened it or to whoever ``sees_all``
    (the Competent Authority, who also sees each screening's person); the read is
    audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await uow.session.get(IdentificationCase, case_id)
        if case is None or not (
            sees_all
            or await organisation_screened_case(uow.session, case.id, principal.organisation)
        ):
            raise NotFound("case")  # 404, not 403: do not confirm that it exists
        answer = await case_detail(uow.session, case, today, keys, with_persons=sees_all)
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


async def list_cases(
    session: AsyncSession,
    *,
    visible_to: str | None,
    filters: CaseFilter,
    page: PageQuery,
    today: date,
) -> tuple[list[IdentificationCase], str | None]:
    """One page of cases, oldest first; ``visible_to``: only that organisation's cases
    (None: all, for the Competent Authority)."""
    query = select(IdentificationCase)
    if visible_to is not None:
        query = query.where(_screened_by(visible_to))
    if filters.status is not None:
        query = query.where(col(IdentificationCase.status) == filters.status)
    if filters.stage is not None:
        query = query.where(col(IdentificationCase.stage) == filters.stage)
    if filters.agency is not None:
        query = query.where(_screened_by(filters.agency))
    if filters.province is not None:
        query = query.where(col(IdentificationCase.province_code) == filters.province)
    if filters.overdue is True:
        query = query.where(_overdue(today))
    elif filters.overdue is False:
        query = query.where(~_overdue(today))
    found = (await session.exec(oldest_first(query, IdentificationCase, page))).all()
    return page_of(found, page)


def summary(case: IdentificationCase, today: date) -> CaseSummary:
    return CaseSummary(
        id=case.id,
        person_ref=case.person_ref,
        status=CaseStatus(case.status),
        stage=DecisionStage(case.stage) if case.stage else None,
        opened_by_organisation=case.opened_by_organisation,
        opened_at=case.opened_at,
        first_encounter_date=case.first_encounter_date,
        province_code=case.province_code,
        country_code=case.country_code,
        deadlines=DeadlinesPublic(
            preliminary_due_on=case.preliminary_due_on,
            final_due_on=case.final_due_on,
            recovery_period_ends_on=case.recovery_period_ends_on,
            next_deadline=case.next_deadline,
            next_deadline_on=case.next_deadline_on,
            overdue=case.next_deadline_on is not None and today > case.next_deadline_on,
        ),
        non_punishment=NonPunishmentPublic(
            applies=case.non_punishment_since is not None, since=case.non_punishment_since
        ),
    )


async def case_detail(
    session: AsyncSession,
    case: IdentificationCase,
    today: date,
    keys: KeyRing,
    *,
    with_persons: bool = False,
) -> CasePublic:
    """The case as the API gives it, its decisions' grounds opened (the caller audits);
    ``with_persons``: each screening's person in the index (for its reviewer, so that a
    wrong link can be found and undone)."""
    consents = await consents_of(session, case.id)
    persons = await persons_of_case(session, case.id) if with_persons else {}
    return CasePublic(
        **summary(case, today).model_dump(),
        screenings=[
            ScreeningSummary(
                id=screening.id,
                reporting_organisation=screening.reporting_organisation,
                encounter_date=screening.encounter_date,
                presumptive_result=screening.presumptive_result,
                recorded_at=screening.recorded_at,
                person_id=persons.get(screening.id),
                person=f"/persons/{persons[screening.id]}" if screening.id in persons else None,
            )
            for screening in await screenings_of(session, case.id)
        ],
        decisions=[decision_public(d, keys) for d in await decisions_of(session, case.id)],
        consents_in_force=[consent_public(c) for c in in_force(consents)],
        consent_history=[consent_public(c) for c in consents],
    )


def decision_public(decision: Decision, keys: KeyRing) -> DecisionPublic:
    """A decision as the API gives it, its grounds opened (the caller audits)."""
    return DecisionPublic(
        id=decision.id,
        case_id=decision.case_id,
        stage=decision.stage,
        outcome=decision.outcome,
        rationale=open_rationale(keys, decision),
        decided_on=decision.decided_on,
        decided_by_organisation=decision.decided_by_organisation,
        reconsiders=decision.reconsiders_id,
        recorded_at=decision.recorded_at,
    )


def consent_public(record: ConsentRecord) -> ConsentPublic:
    return ConsentPublic.model_validate(record, from_attributes=True)
