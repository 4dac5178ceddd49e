"""Selects of referrals shared by the use cases and the views."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral.store.tables import ReferralStep


async def steps_of(session: AsyncSession, referral_id: UUID) -> list[ReferralStep]:
    """The referral's history, oldest step first."""
    query = select(ReferralStep).where(col(ReferralStep.referral_id) == referral_id)
    return list((await session.exec(query.order_by(col(ReferralStep.id)))).all())
