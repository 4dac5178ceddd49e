"""The registry's HTTP routes for beds: capacity, reservations, admissions, discharges."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from fastapi import APIRouter, Response, status
from sqlmodel import col, select

from nrm_contracts.events.referral import PlacementExitReason
from nrm_contracts.events.shelter_registry import CapacityChangeCause, PlacementRefusalReason
from nrm_runtime.auth import Principal
from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep
from shelter_registry import access, capacity, reservations
from shelter_registry.beds import refusal_message
from shelter_registry.contacts import KeysDep
from shelter_registry.dependencies import (
    BED_HOLDING,
    OWNER_CHANGE,
    OWNER_READ,
    BedHolder,
    Maintainer,
    Now,
    Reader,
    SettingsDep,
)
from shelter_registry.domain import PlacementOutcome
from shelter_registry.models import (
    CapacityChangePublic,
    CapacityUpdate,
    FacilityPublic,
    PlacementCreate,
    PlacementEnd,
    PlacementPublic,
    ReservationCreate,
    ReservationPublic,
)
from shelter_registry.store import (
    CapacityChange,
    Placement,
    Reservation,
    load_facility,
    load_organisation,
)
from shelter_registry.views import to_public

router = APIRouter(tags=["beds"])


@router.put(
    "/facilities/{facility_id}/capacity",
    openapi_extra=OWNER_CHANGE,
    response_model=FacilityPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def set_capacity(
    facility_id: UUID,
    form: CapacityUpdate,
    database: DatabaseDep,
    keys: KeysDep,
    principal: Maintainer,
    settings: SettingsDep,
    now: Now,
) -> FacilityPublic:
    """The provider's beds; never below the beds occupied and reserved (422)."""
    facility = await capacity.set_capacity(
        database, facility_id, form, principal, registrar=settings.registrar_organisation, now=now
    )
    async with database.session() as session:
        organisation = await load_organisation(session, facility.organisation_id)
    return to_public(facility, organisation, keys)


@router.get(
    "/facilities/{facility_id}/capacity/history",
    openapi_extra=OWNER_READ,
    response_model=list[CapacityChangePublic],
    responses=error_responses(401, 403, 404, 422),
)
async def capacity_history(
    facility_id: UUID, database: DatabaseDep, principal: Reader, settings: SettingsDep
) -> list[CapacityChangePublic]:
    """Every change of the beds, oldest first: to the owner's staff and to MOSVY."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
        _require_owner_or_mosvy(
            principal, facility.organisation_id, settings.registrar_organisation
        )
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


@router.post(
    "/facilities/{facility_id}/reservations",
    openapi_extra=BED_HOLDING,
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationPublic,
    responses={
        200: {"model": ReservationPublic, "description": "Already held for this referral"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
async def reserve_bed(
    facility_id: UUID,
    form: ReservationCreate,
    response: Response,
    database: DatabaseDep,
    principal: BedHolder,
    settings: SettingsDep,
    now: Now,
) -> ReservationPublic:
    """Hold a bed for an accepted referral; it expires after the configured hold time.
    409 ``facility_full`` or ``facility_not_registered`` when no bed can be held."""
    reservation, new = await reservations.reserve(
        database,
        facility_id,
        form.referral_id,
        principal,
        registrar=settings.registrar_organisation,
        hold=timedelta(hours=settings.reservation_hold_hours),
        now=now,
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    return ReservationPublic.model_validate(reservation, from_attributes=True)


@router.get(
    "/facilities/{facility_id}/reservations/{reservation_id}",
    openapi_extra=OWNER_READ,
    response_model=ReservationPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def get_reservation(
    facility_id: UUID,
    reservation_id: UUID,
    database: DatabaseDep,
    principal: Reader,
    settings: SettingsDep,
) -> ReservationPublic:
    """A reservation: to the owner's staff and to MOSVY."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
        _require_owner_or_mosvy(
            principal, facility.organisation_id, settings.registrar_organisation
        )
        reservation = await session.get(Reservation, reservation_id)
    if reservation is None or reservation.facility_id != facility_id:
        raise NotFound("reservation")
    return ReservationPublic.model_validate(reservation, from_attributes=True)


@router.post(
    "/facilities/{facility_id}/reservations/{reservation_id}/release",
    openapi_extra=BED_HOLDING,
    response_model=ReservationPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def release_bed(
    facility_id: UUID,
    reservation_id: UUID,
    database: DatabaseDep,
    principal: BedHolder,
    settings: SettingsDep,
    now: Now,
) -> ReservationPublic:
    """Give a held bed back before it expires."""
    return await reservations.release(
        database,
        facility_id,
        reservation_id,
        principal,
        registrar=settings.registrar_organisation,
        now=now,
    )


@router.post(
    "/facilities/{facility_id}/placements",
    openapi_extra=OWNER_CHANGE,
    status_code=status.HTTP_201_CREATED,
    response_model=PlacementPublic,
    responses={
        200: {"model": PlacementPublic, "description": "This placement was already recorded"},
        **error_responses(401, 403, 404, 409, 422),
    },
)
async def admit(
    facility_id: UUID,
    form: PlacementCreate,
    response: Response,
    database: DatabaseDep,
    principal: Maintainer,
    settings: SettingsDep,
    now: Now,
) -> PlacementPublic:
    """The provider records an admission: one bed more occupied, atomically, or 409
    ``facility_full`` when every bed is occupied or reserved (nothing is written then).
    Repeating a placement id changes nothing and answers 200."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
    access.require_maintainer(principal, facility.organisation_id, settings.registrar_organisation)
    async with database.unit_of_work(actor=principal.actor) as uow:
        result = await capacity.admit(
            uow,
            capacity.Admission(
                placement_id=form.placement_id,
                facility_id=facility_id,
                referral_id=form.referral_id,
                population_group=form.population_group,
                sex=form.sex,
                age_band=form.age_band,
            ),
            now,
        )
        if result.already_known:
            if result.placement.facility_id != facility_id:
                raise ProblemError(
                    409, "conflict", "this placement id belongs to another facility", "placement_id"
                )
            response.status_code = status.HTTP_200_OK
        elif result.refusal_reason is not None:
            reason = result.refusal_reason
            raise ProblemError(409, reason.value, refusal_message(reason))
        await uow.commit()
    return _placement(result.placement)


@router.get(
    "/facilities/{facility_id}/placements/{placement_id}",
    openapi_extra=OWNER_READ,
    response_model=PlacementPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def get_placement(
    facility_id: UUID,
    placement_id: UUID,
    database: DatabaseDep,
    principal: Reader,
    settings: SettingsDep,
) -> PlacementPublic:
    """A placement and whether it was counted (``refused`` with its reason if not): to
    the owner's staff and to MOSVY, whose referral service sent it."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
        _require_owner_or_mosvy(
            principal, facility.organisation_id, settings.registrar_organisation
        )
        placement = await session.get(Placement, placement_id)
    if placement is None or placement.facility_id != facility_id:
        raise NotFound("placement")
    return _placement(placement)


@router.post(
    "/facilities/{facility_id}/placements/{placement_id}/end",
    openapi_extra=OWNER_CHANGE,
    response_model=PlacementPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def end_placement(
    facility_id: UUID,
    placement_id: UUID,
    form: PlacementEnd,
    database: DatabaseDep,
    principal: Maintainer,
    settings: SettingsDep,
    now: Now,
) -> PlacementPublic:
    """The person left: the bed is free again. 409 if the placement is not current."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
    access.require_maintainer(principal, facility.organisation_id, settings.registrar_organisation)
    async with database.unit_of_work(actor=principal.actor) as uow:
        ended = await capacity.discharge(
            uow, facility_id, placement_id, PlacementExitReason(form.exit_reason), now
        )
        if ended is None:
            existing = await uow.session.get(Placement, placement_id)
            if existing is None or existing.facility_id != facility_id:
                raise NotFound("placement")
            raise ProblemError(
                409, "not_current", f"the placement is {existing.outcome}, not current", "state"
            )
        await uow.commit()
    return _placement(ended)


def _require_owner_or_mosvy(principal: Principal, owner: str, registrar: str) -> None:
    if principal.organisation not in (owner, registrar):
        raise ProblemError(
            403, "forbidden", "only the owning organisation and MOSVY see the facility's beds"
        )


def _placement(placement: Placement) -> PlacementPublic:
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
