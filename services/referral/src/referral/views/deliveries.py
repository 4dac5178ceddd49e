"""A provider's delivery log: its notices and every attempt to deliver them."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.database import Database
from referral.schemas.providers import DeliveryAttemptPublic, DeliveryPublic
from referral.store import Delivery, DeliveryAttempt


async def delivery_log(database: Database, organisation: str, limit: int) -> list[DeliveryPublic]:
    """The organisation's notices, newest first."""
    async with database.session() as session:
        query = select(Delivery).where(col(Delivery.organisation_id) == organisation)
        found = (
            await session.exec(query.order_by(col(Delivery.created_at).desc()).limit(limit))
        ).all()
        return [await _delivery_public(session, delivery) for delivery in found]


async def delivery(database: Database, delivery_id: UUID) -> DeliveryPublic:
    """One notice (the caller's: a use case found it) and its attempts."""
    async with database.session() as session:
        found = await session.get(Delivery, delivery_id)
        assert found is not None  # deliveries are never deleted
        return await _delivery_public(session, found)


async def _delivery_public(session: AsyncSession, delivery: Delivery) -> DeliveryPublic:
    attempts_query = select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id) == delivery.id)
    attempts = (await session.exec(attempts_query.order_by(col(DeliveryAttempt.attempt)))).all()
    return DeliveryPublic(
        id=delivery.id,
        referral_id=delivery.referral_id,
        channel=delivery.channel,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        dead_at=delivery.dead_at,
        last_error=delivery.last_error,
        log=[DeliveryAttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )
