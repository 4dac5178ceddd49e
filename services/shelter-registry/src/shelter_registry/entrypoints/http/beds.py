"""The registry's HTTP routes for beds: capacity, reservations, admissions, discharges."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep
from shelter_registry.access import (
    BED_HOLDING,
    OWNER_CHANGE,
    OWNER_READ,
    BedHolder,
    Maintainer,
    Reader,
)
from shelter_registry.context import ContextDep
from shelter_registry.schemas.beds import (
    CapacityChangePublic,
    CapacityUpdate,
    PlacementCreate,
    PlacementEnd,
    PlacementPublic,
    ReservationCreate,
    ReservationPublic,
)
from shelter_registry.schemas.facilities import FacilityPublic
from shelter_registry.usecases import capacity, reservations
from shelter_registry.views import beds

router = APIRouter(tags=["beds"])


def _created_once(model: type[BaseModel], repeated: str) -> dict[int | str, dict[str, Any]]:
    """The answers of a POST that creates a record once: 201, then 200 with the same
    record when the request is repeated."""
    return {
        200: {"model": model, "description": repeated},
        **error_responses(401, 403, 404, 409, 422),
    }


def _answer_repeat(response: Response, new: bool) -> None:
    if not new:
        response.status_code = status.HTTP_200_OK


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
    context: ContextDep,
    principal: Maintainer,
) -> FacilityPublic:
    """The provider's beds; never below the beds occupied and reserved (422)."""
    return await capacity.set_capacity(database, context, facility_id, form, principal)


@router.get(
    "/facilities/{facility_id}/capacity/history",
    openapi_extra=OWNER_READ,
    response_model=list[CapacityChangePublic],
    responses=error_responses(401, 403, 404, 422),
)
async def capacity_history(
    facility_id: UUID, database: DatabaseDep, context: ContextDep, principal: Reader
) -> list[CapacityChangePublic]:
    """Every change of the beds, oldest first: to the owner's staff and to MOSVY."""
    return await beds.capacity_history(database, facility_id, principal, context.registrar)


@router.post(
    "/facilities/{facility_id}/reservations",
    openapi_extra=BED_HOLDING,
    status_code=status.HTTP_201_CREATED,
    response_model=ReservationPublic,
    responses=_created_once(ReservationPublic, "Already held for this referral"),
)
async def reserve_bed(
    facility_id: UUID,
    form: ReservationCreate,
    response: Response,
    database: DatabaseDep,
    context: ContextDep,
    principal: BedHolder,
) -> ReservationPublic:
    """Hold a bed for an accepted referral; it expires after the configured hold time.
    409 ``facility_full`` or ``facility_not_registered`` when no bed can be held."""
    reservation, new = await reservations.reserve(
        database, context, facility_id, form.referral_id, principal
    )
    _answer_repeat(response, new)
    return reservation


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
    context: ContextDep,
    principal: Reader,
) -> ReservationPublic:
    """A reservation: to the owner's staff and to MOSVY."""
    return await beds.reservation(
        database, facility_id, reservation_id, principal, context.registrar
    )


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
    context: ContextDep,
    principal: BedHolder,
) -> ReservationPublic:
    """Give a held bed back before it expires."""
    return await reservations.release(database, context, facility_id, reservation_id, principal)


@router.post(
    "/facilities/{facility_id}/placements",
    openapi_extra=OWNER_CHANGE,
    status_code=status.HTTP_201_CREATED,
    response_model=PlacementPublic,
    responses=_created_once(PlacementPublic, "This placement was already recorded"),
)
async def admit(
    facility_id: UUID,
    form: PlacementCreate,
    response: Response,
    database: DatabaseDep,
    context: ContextDep,
    principal: Maintainer,
) -> PlacementPublic:
    """The provider records an admission: one bed more occupied, atomically, or 409
    ``facility_full`` when every bed is occupied or reserved (nothing is written then).
    Repeating a placement id changes nothing and answers 200."""
    placement, new = await capacity.record_admission(
        database, context, facility_id, form, principal
    )
    _answer_repeat(response, new)
    return placement


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
    context: ContextDep,
    principal: Reader,
) -> PlacementPublic:
    """A placement and whether it was counted (``refused`` with its reason if not): to
    the owner's staff and to MOSVY, whose referral service sent it."""
    return await beds.placement(database, facility_id, placement_id, principal, context.registrar)


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
    context: ContextDep,
    principal: Maintainer,
) -> PlacementPublic:
    """The person left: the bed is free again. 409 if the placement is not current."""
    return await capacity.end_placement(
        database, context, facility_id, placement_id, form.exit_reason, principal
    )
