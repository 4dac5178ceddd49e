"""The selects that use cases and views share: a case's screenings, decisions, consents
and persons, and whether an organisation screened it."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.store.tables import (
    ConsentRecord,
    Decision,
    PersonRecord,
    Screening,
)


async def organisation_screened_case(
    session: AsyncSession, case_id: UUID, organisation: str
) -> bool:
    """Whether ``organisation`` recorded a screening of the case (it may then see it)."""
    found = await session.exec(
        select(Screening.id).where(
            col(Screening.case_id) == case_id,
            col(Screening.reporting_organisation) == organisation,
        )
    )
    return found.first() is not None


async def decisions_of(session: AsyncSession, case_id: UUID) -> list[Decision]:
    """The case's decisions in the order they were recorded."""
    result = await session.exec(
        select(Decision).where(col(Decision.case_id) == case_id).order_by(col(Decision.sequence))
    )
    return list(result.all())


async def consents_of(session: AsyncSession, case_id: UUID) -> list[ConsentRecord]:
    result = await session.exec(
        select(ConsentRecord)
        .where(col(ConsentRecord.case_id) == case_id)
        .order_by(col(ConsentRecord.sequence))
    )
    return list(result.all())


def in_force(records: list[ConsentRecord]) -> list[ConsentRecord]:
    """The latest record of each purpose (``records`` in the order they were recorded)."""
    latest = {record.purpose: record for record in records}
    return list(latest.values())


async def screenings_of(session: AsyncSession, case_id: UUID) -> list[Screening]:
    result = await session.exec(
        select(Screening)
        .where(col(Screening.case_id) == case_id)
        .order_by(col(Screening.recorded_at), col(Screening.id))
    )
    return list(result.all())


async def persons_of_case(session: AsyncSession, case_id: UUID) -> dict[UUID, UUID]:
    """The person each screening of the case belongs to, by screening id."""
    rows = await session.exec(
        select(PersonRecord.screening_id, PersonRecord.person_id).where(
            col(PersonRecord.case_id) == case_id
        )
    )
    return dict(rows.all())
