"""The registry's HTTP routes for provider organisations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status

from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep
from shelter_registry.access import NEW_RECORD, PUBLIC_READ, Maintainer, Reader
from shelter_registry.context import ContextDep
from shelter_registry.schemas.organisations import OrganisationCreate, OrganisationPublic
from shelter_registry.usecases import organisations as recording
from shelter_registry.views import organisations as listing

router = APIRouter(tags=["organisations"])


@router.post(
    "/organisations",
    openapi_extra=NEW_RECORD,
    status_code=status.HTTP_201_CREATED,
    response_model=OrganisationPublic,
    responses=error_responses(401, 403, 409, 422),
)
async def create_organisation(
    form: OrganisationCreate, database: DatabaseDep, context: ContextDep, principal: Maintainer
) -> OrganisationPublic:
    """Record a provider organisation (MOSVY's registrar, or the organisation's own staff)."""
    return await recording.create_organisation(database, context, form, principal)


@router.get(
    "/organisations",
    openapi_extra=PUBLIC_READ,
    response_model=list[OrganisationPublic],
    responses=error_responses(401, 403),
)
async def list_organisations(database: DatabaseDep, _: Reader) -> list[OrganisationPublic]:
    """Every provider organisation in the registry."""
    return await listing.organisations(database)


@router.get(
    "/organisations/{organisation_id}",
    openapi_extra=PUBLIC_READ,
    response_model=OrganisationPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def get_organisation(
    organisation_id: Annotated[str, Path(max_length=64)], database: DatabaseDep, _: Reader
) -> OrganisationPublic:
    """One provider organisation."""
    return await listing.organisation(database, organisation_id)
