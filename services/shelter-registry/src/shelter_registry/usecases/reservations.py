"""Reservations: a bed held for an accepted referral until the person is admitted, the
hold is released, or it expires (``reservation_hold_hours``). Every change of the held
count is a conditional UPDATE, like every change of beds (see
:mod:`shelter_registry.usecases.beds`).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy import ColumnElement, and_, update
from sqlmodel import col, select

from nrm_contracts import Actor
from nrm_contracts.events.shelter_registry import CapacityChangeCause
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, NotFound
from shelter_registry import access
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.domain.facilities import ReservationState
from shelter_registry.domain.placements import refusal_message
from shelter_registry.schemas.beds import ReservationPublic
from shelter_registry.store import Reservation, load_facility
from shelter_registry.usecases.beds import (
    RESERVED,
    announce,
    change_beds,
    has_free_bed,
    offered,
    refusal_reason,
)

EXPIRY_ACTOR = Actor("shelter-registry", "reservation-expiry")


async def reserve(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    referral_id: UUID,
    principal: Principal,
) -> tuple[ReservationPublic, bool]:
    """Hold a free bed for an accepted referral for ``reservation_hold_hours``.

    Returns the reservation and whether it is new; the same referral asking again gets
    its held reservation back. Conflict when the facility has no free bed or is not
    offered.
    """
    now = context.clock()
    hold = timedelta(hours=context.settings.reservation_hold_hours)
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_bed_holder(principal, facility.organisation_id, context.registrar)
        await expire_due(uow, now, facility_id=facility_id)
        held = await _held_reservation(uow, facility_id, referral_id)
        if held is not None:
            await uow.commit()
            return ReservationPublic.model_validate(held, from_attributes=True), False
        if not await change_beds(
            uow, facility_id, and_(offered(), has_free_bed()), now, beds_reserved=RESERVED + 1
        ):
            reason = await refusal_reason(uow, facility_id)
            raise Conflict(refusal_message(reason), code=reason.value)
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
    return ReservationPublic.model_validate(reservation, from_attributes=True), True


async def release(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    reservation_id: UUID,
    principal: Principal,
) -> ReservationPublic:
    """Give a held bed back (the referral was withdrawn or went elsewhere)."""
    now = context.clock()
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_bed_holder(principal, facility.organisation_id, context.registrar)
        reservation = await uow.session.get(Reservation, reservation_id)
        if reservation is None or reservation.facility_id != facility_id:
            raise NotFound("reservation")
        if not await _close_held(
            uow, ReservationState.RELEASED, now, col(Reservation.id) == reservation_id
        ):
            raise Conflict(
                f"the reservation is {reservation.state}, not held", code="not_held", field="state"
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


async def expire_reservations(database: Database, now: datetime) -> int:
    """Expire every due reservation now, in all facilities; how many expired."""
    async with database.unit_of_work(actor=EXPIRY_ACTOR) as uow:
        expired = await expire_due(uow, now)
        await uow.commit()
    return expired


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
    count = await _close_held(
        uow, ReservationState.RELEASED, now, col(Reservation.facility_id) == facility_id
    )
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
    return await _close_held(uow, state, now, col(Reservation.id) == held.id) == 1


async def _close_held(
    uow: UnitOfWork, state: ReservationState, now: datetime, *which: ColumnElement[bool]
) -> int:
    """Close the reservations ``which`` selects that are still held; how many it closed
    (a reservation closed meanwhile is not closed again)."""
    closed = await uow.session.exec(
        update(Reservation)
        .where(*which, col(Reservation.state) == ReservationState.HELD.value)
        .values(state=state.value, closed_at=now)
    )
    return int(closed.rowcount)


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
