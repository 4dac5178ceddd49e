"""The selects the use cases and views share: a case's steps, clocks and messages, a
received message by its idempotency key, the open case of an identification case or of a
counterpart's reference, and a case as an officer or a counterpart may see it."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.errors import NotFound
from repatriation.store.tables import (
    CaseStatus,
    CaseStep,
    ClockState,
    LiaisonMessage,
    MessageFlow,
    RepatriationCase,
    StepClock,
)


async def steps_of(session: AsyncSession, case_id: UUID) -> list[CaseStep]:
    result = await session.exec(
        select(CaseStep).where(col(CaseStep.case_id) == case_id).order_by(col(CaseStep.sequence))
    )
    return list(result.all())


async def running_clocks(session: AsyncSession, case_id: UUID) -> list[StepClock]:
    result = await session.exec(
        select(StepClock).where(
            col(StepClock.case_id) == case_id, col(StepClock.state) == ClockState.RUNNING
        )
    )
    return list(result.all())


async def messages_of(session: AsyncSession, case_id: UUID) -> list[LiaisonMessage]:
    result = await session.exec(
        select(LiaisonMessage)
        .where(col(LiaisonMessage.case_id) == case_id)
        .order_by(col(LiaisonMessage.sequence))
    )
    return list(result.all())


async def clocks_of(session: AsyncSession, case_id: UUID) -> list[StepClock]:
    result = await session.exec(
        select(StepClock)
        .where(col(StepClock.case_id) == case_id)
        .order_by(col(StepClock.started_at))
    )
    return list(result.all())


async def received_message(
    session: AsyncSession, country: str, idempotency_key: str
) -> LiaisonMessage | None:
    result = await session.exec(
        select(LiaisonMessage).where(
            col(LiaisonMessage.flow) == MessageFlow.RECEIVED,
            col(LiaisonMessage.counterpart_country) == country,
            col(LiaisonMessage.idempotency_key) == idempotency_key,
        )
    )
    return result.first()


async def open_case_for_identification(
    session: AsyncSession, identification_case_id: UUID
) -> RepatriationCase | None:
    result = await session.exec(
        select(RepatriationCase).where(
            col(RepatriationCase.identification_case_id) == identification_case_id,
            col(RepatriationCase.status) == CaseStatus.OPEN,
        )
    )
    return result.first()


async def open_case_with_reference(
    session: AsyncSession, country: str, counterpart_reference: str
) -> bool:
    """Whether ``country`` already has an open case under its own case number."""
    result = await session.exec(
        select(RepatriationCase.id).where(
            col(RepatriationCase.counterpart_country) == country,
            col(RepatriationCase.counterpart_reference) == counterpart_reference,
            col(RepatriationCase.status) == CaseStatus.OPEN,
        )
    )
    return result.first() is not None


async def case_for_counterpart(
    session: AsyncSession, case_id: UUID, country: str
) -> RepatriationCase | None:
    """The case, if it is ``country``'s; None for another country's case as for none."""
    case = await session.get(RepatriationCase, case_id)
    return case if case is not None and case.counterpart_country == country else None


async def case_for_officer(session: AsyncSession, case_id: UUID) -> RepatriationCase:
    case = await session.get(RepatriationCase, case_id)
    if case is None:
        raise NotFound("repatriation case")
    return case
