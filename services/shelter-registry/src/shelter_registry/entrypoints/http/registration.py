"""The registry's HTTP routes for MOSVY's registration: decisions, their history, and
inspections."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter

from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep
from shelter_registry.access import PUBLIC_READ, REGISTRAR_DECISION, Reader, Registrar
from shelter_registry.context import ContextDep
from shelter_registry.schemas.facilities import (
    FacilityPublic,
    InspectionIn,
    RegistrationDecision,
    StatusChangePublic,
)
from shelter_registry.usecases import registration
from shelter_registry.views.facilities import registration_history as history_of

router = APIRouter(tags=["registration"])


@router.post(
    "/facilities/{facility_id}/registration",
    openapi_extra=REGISTRAR_DECISION,
    response_model=FacilityPublic,
    responses=error_responses(401, 403, 404, 409, 422),
)
async def decide_registration(
    facility_id: UUID,
    decision: RegistrationDecision,
    database: DatabaseDep,
    context: ContextDep,
    principal: Registrar,
) -> FacilityPublic:
    """MOSVY registers, suspends, reinstates or revokes a facility, with its reason."""
    return await registration.decide_registration(
        database, context, facility_id, decision, principal
    )


@router.get(
    "/facilities/{facility_id}/registration/history",
    openapi_extra=PUBLIC_READ,
    response_model=list[StatusChangePublic],
    responses=error_responses(401, 403, 404, 422),
)
async def registration_history(
    facility_id: UUID, database: DatabaseDep, _: Reader
) -> list[StatusChangePublic]:
    """Every registration decision on the facility, oldest first, with its reason."""
    return await history_of(database, facility_id)


@router.post(
    "/facilities/{facility_id}/inspections",
    openapi_extra=REGISTRAR_DECISION,
    response_model=FacilityPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def record_inspection(
    facility_id: UUID,
    inspection: InspectionIn,
    database: DatabaseDep,
    context: ContextDep,
    principal: Registrar,
) -> FacilityPublic:
    """MOSVY records a minimum-standards inspection and its result."""
    return await registration.record_inspection(
        database, context, facility_id, inspection, principal
    )
