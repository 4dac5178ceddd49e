"""A facility's beds, reservations and stays: to its own organisation and to MOSVY only."""

from __future__ import annotations

from typing import TypeVar
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts.events.referral import PlacementExitReason
from nrm_contracts.events.shelter_registry import CapacityChangeCause, PlacementRefusalReason
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.errors import NotFound
from shelter_registry.access import require_owner_or_mosvy
from shelter_registry.domain.facilities import PlacementOutcome
from shelter_registry.schemas.beds import (
    CapacityChangePublic,
    PlacementPublic,
    ReservationPublic,
)
from shelter_registry.store import CapacityChange, Placement, Reservation, load_facility

Record = TypeVar("Record", Reservation, Placement)


async def _open_to(
    session: AsyncSession, facility_id: UUID, principal: Principal, registrar: str
) -> None:
    """404 without the facility; 403 unless the caller owns it or is MOSVY."""
    facility = await load_facility(session, facility_id)
    require_owner_or_mosvy(principal, facility.organisation_id, registrar)


async def capacity_history(
    database: Database, facility_id: UUID, principal: Principal, registrar: str
) -> list[CapacityChangePublic]:
    """Every change of the beds, oldest first."""
    async with database.session() as session:
        await _open_to(session, facility_id, principal, registrar)
        changes = (
            await session.exec(
                select(CapacityChange)
                .where(col(CapacityChange.facility_id) == facility_id)
                .order_by(col(CapacityChange.id))
            )
        ).all()
    return [
        CapacityChangePublic(
            cause=CapacityChangeCause(c.cause),
            beds_total=c.beds_total,
            beds_occupied=c.beds_occupied,
            beds_reserved=c.beds_reserved,
            placement_id=c.placement_id,
            referral_id=c.referral_id,
            changed_by=c.changed_by,
            changed_at=c.changed_at,
        )
        for c in changes
    ]


async def reservation(
    database: Database,
    facility_id: UUID,
    reservation_id: UUID,
    principal: Principal,
    registrar: str,
) -> ReservationPublic:
    found = await _of_facility(
        database, Reservation, reservation_id, facility_id, principal, registrar, "reservation"
    )
    return ReservationPublic.model_validate(found, from_attributes=True)


async def placement(
    database: Database,
    facility_id: UUID,
    placement_id: UUID,
    principal: Principal,
    registrar: str,
) -> PlacementPublic:
    found = await _of_facility(
        database, Placement, placement_id, facility_id, principal, registrar, "placement"
    )
    return placement_public(found)


async def _of_facility(
    database: Database,
    kind: type[Record],
    record_id: UUID,
    facility_id: UUID,
    principal: Principal,
    registrar: str,
    what: str,
) -> Record:
    """A reservation or placement of the facility; 404 when it is of another one."""
    async with database.session() as session:
        await _open_to(session, facility_id, principal, registrar)
        found = await session.get(kind, record_id)
    if found is None or found.facility_id != facility_id:
        raise NotFound(what)
    return found


def placement_public(placement: Placement) -> PlacementPublic:
    """A placement and whether it was counted (``refused`` with its reason if not)."""
    return PlacementPublic(
        id=placement.id,
        facility_id=placement.facility_id,
        referral_id=placement.referral_id,
        outcome=PlacementOutcome(placement.outcome),
        refusal_reason=(
            PlacementRefusalReason(placement.refusal_reason) if placement.refusal_reason else None
        ),
        started_at=placement.started_at,
        ended_at=placement.ended_at,
        exit_reason=PlacementExitReason(placement.exit_reason) if placement.exit_reason else None,
    )
