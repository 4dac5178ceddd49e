"""Reservations: a bed held for an accepted referral until the person is admitted, the
hold is released, or it expires (``reservation_hold_hours``). Every change of the held
count is a conditional UPDATE, like every change of beds (see :mod:`shelter_registry.beds`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import and_, update
from sqlmodel import col, select

from nrm_contracts.events.shelter_registry import CapacityChangeCause
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import ProblemError
from shelter_registry import access
from shelter_registry.beds import (
    RESERVED,
    announce,
    change_beds,
    has_free_bed,
    offered,
    refusal_message,
    refusal_reason,
)
from shelter_registry.domain import ReservationState
from shelter_registry.models import ReservationPublic
from shelter_registry.store import Reservation, load_facility


async def reserve(
    database: Database,
    facility_id: UUID,
    referral_id: UUID,
    principal: Principal,
    *,
    registrar: str,
    hold: timedelta,
    now: datetime,
) -> tuple[Reservation, bool]:
    """Hold a free bed for an accepted referral until ``now + hold``.

    Returns the reservation and whether it is new; the same referral asking again gets
    its held reservation back. 409 when the facility has no free bed or is not offered.
    """
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_bed_holder(principal, facility.organisation_id, registrar)
        await expire_due(uow, now, facility_id=facility_id)
        held = await _held_reservation(uow, facility_id, referral_id)
        if held is not None:
            await uow.commit()
            return held, False
        if not await change_beds(
            uow, facility_id, and_(offered(), has_free_bed()), now, beds_reserved=RESERVED + 1
        ):
            reason = await refusal_reason(uow, facility_id)
            raise ProblemError(409, reason.value, refusal_message(reason))
        reservation = Reservation(
            facility_id=facility_id,
            referral_id=referral_id,
            state=ReservationState.HELD,
            reserved_by=str(principal.actor),
            reserved_at=now,
            expires_at=now + hold,
        )
        uow.session.add(reservation)
        await announce(
            uow, facility_id, CapacityChangeCause.RESERVATION_MADE, now, referral_id=referral_id
        )
        await uow.commit()
    return reservation, True


async def release(
    database: Database,
    facility_id: UUID,
    reservation_id: UUID,
    principal: Principal,
    *,
    registrar: str,
    now: datetime,
) -> ReservationPublic:
    """Give a held bed back (the referral was withdrawn or went elsewhere)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_bed_holder(principal, facility.organisation_id, registrar)
        reservation = await uow.session.get(Reservation, reservation_id)
        if reservation is None or reservation.facility_id != facility_id:
            raise ProblemError(404, "not_found", "reservation not found")
        closed = await uow.session.exec(
            update(Reservation)
            .where(
                col(Reservation.id) == reservation_id,
                col(Reservation.state) == ReservationState.HELD.value,
            )
            .values(state=ReservationState.RELEASED.value, closed_at=now)
        )
        if closed.rowcount != 1:
            raise ProblemError(
                409, "not_held", f"the reservation is {reservation.state}, not held", "state"
            )
        await change_beds(uow, facility_id, RESERVED >= 1, now, beds_reserved=RESERVED - 1)
        await announce(
            uow,
            facility_id,
            CapacityChangeCause.RESERVATION_RELEASED,
            now,
            referral_id=reservation.referral_id,
        )
        released = await uow.session.get(Reservation, reservation_id, populate_existing=True)
        assert released is not None
        public = ReservationPublic.model_validate(released, from_attributes=True)
        await uow.commit()
    return public


async def expire_due(uow: UnitOfWork, now: datetime, *, facility_id: UUID | None = None) -> int:
    """Expire every held reservation whose time is up (of one facility, or all) and free
    its bed. Returns how many expired. Each reservation expires once: the UPDATE only
    takes rows still held, so two sweeps never free one bed twice."""
    condition = [
        col(Reservation.state) == ReservationState.HELD.value,
        col(Reservation.expires_at) <= now,
    ]
    if facility_id is not None:
        condition.append(col(Reservation.facility_id) == facility_id)
    expired = await uow.session.exec(
        update(Reservation)
        .where(*condition)
        .values(state=ReservationState.EXPIRED.value, closed_at=now)
        .returning(col(Reservation.facility_id), col(Reservation.referral_id))
    )
    rows = list(expired.all())
    per_facility = Counter(row[0] for row in rows)
    for expired_facility, count in per_facility.items():
        await change_beds(
            uow, expired_facility, count <= RESERVED, now, beds_reserved=RESERVED - count
        )
        referral = next(row[1] for row in rows if row[0] == expired_facility)
        await announce(
            uow,
            expired_facility,
            CapacityChangeCause.RESERVATION_EXPIRED,
            now,
            referral_id=referral if count == 1 else None,
        )
    return len(rows)


async def release_held_reservations(uow: UnitOfWork, facility_id: UUID, now: datetime) -> int:
    """Release every bed held at a facility leaving referral (suspended or revoked); the
    status event that follows carries the new capacity."""
    released = await uow.session.exec(
        update(Reservation)
        .where(
            col(Reservation.facility_id) == facility_id,
            col(Reservation.state) == ReservationState.HELD.value,
        )
        .values(state=ReservationState.RELEASED.value, closed_at=now)
    )
    count = int(released.rowcount)
    if count:
        await change_beds(uow, facility_id, count <= RESERVED, now, beds_reserved=RESERVED - count)
        await announce(uow, facility_id, CapacityChangeCause.RESERVATION_RELEASED, now, event=False)
    return count


async def close_reservation(
    uow: UnitOfWork, facility_id: UUID, referral_id: UUID, state: ReservationState, now: datetime
) -> bool:
    held = await _held_reservation(uow, facility_id, referral_id)
    if held is None:
        return False
    closed = await uow.session.exec(
        update(Reservation)
        .where(
            col(Reservation.id) == held.id,
            col(Reservation.state) == ReservationState.HELD.value,
        )
        .values(state=state.value, closed_at=now)
    )
    return bool(closed.rowcount == 1)


async def _held_reservation(
    uow: UnitOfWork, facility_id: UUID, referral_id: UUID
) -> Reservation | None:
    result = await uow.session.exec(
        select(Reservation)
        .where(
            col(Reservation.facility_id) == facility_id,
            col(Reservation.referral_id) == referral_id,
            col(Reservation.state) == ReservationState.HELD.value,
        )
        .execution_options(populate_existing=True)
    )
    return result.first()
