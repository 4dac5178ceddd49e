"""Selects of referral cases shared by the use cases and the event handlers."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral.store.tables import ReferralCase


async def case_for_identification_case(
    session: AsyncSession, identification_case_id: UUID
) -> ReferralCase | None:
    result = await session.exec(
        select(ReferralCase).where(
            col(ReferralCase.identification_case_id) == identification_case_id
        )
    )
    return result.first()
