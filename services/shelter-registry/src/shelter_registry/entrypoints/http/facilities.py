"""The registry's HTTP routes for facilities: the directory, one facility, the search for
referral, and the coverage report."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from nrm_contracts.events.identification import ExploitationType, Sex
from nrm_contracts.events.shelter_registry import (
    FacilityType,
    RegistrationStatus,
    SupportService,
)
from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from shelter_registry.access import NEW_RECORD, OWNER_CHANGE, PUBLIC_READ, Maintainer, Reader
from shelter_registry.context import ContextDep
from shelter_registry.domain.matching import Criteria
from shelter_registry.schemas.facilities import (
    FacilityCreate,
    FacilityPublic,
    FacilityUpdate,
    ProvinceCode,
)
from shelter_registry.schemas.search import CoverageReport, SearchResults
from shelter_registry.usecases import registration
from shelter_registry.views import directory
from shelter_registry.views.facilities import facility_entry, whereabouts_for

router = APIRouter()

ONE_FACILITY = error_responses(401, 403, 404, 422)


@router.get(
    "/facilities",
    openapi_extra=PUBLIC_READ,
    response_model=SearchResults,
    tags=["search"],
    responses=error_responses(401, 403, 422),
)
async def search_facilities(
    database: DatabaseDep,
    context: ContextDep,
    reader: Reader,
    sex: Sex | None = None,
    age: Annotated[int | None, Query(ge=0, le=120)] = None,
    exploitation_type: ExploitationType | None = None,
    service: Annotated[list[SupportService] | None, Query(description="Repeat for several")] = None,
    language: Annotated[str | None, Query(pattern=r"^[a-z]{2}$", description="ISO 639-1")] = None,
    nationality: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    facility_type: FacilityType | None = None,
    province: Annotated[
        ProvinceCode | None, Query(description="Where the person is: ranks by distance")
    ] = None,
    only_in_province: bool = False,
    only_with_free_beds: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> SearchResults:
    """Referral candidates: registered facilities only (never an applying, suspended or
    revoked one) that meet every filter given, ranked by fit, then distance from
    ``province``; each with the reasons it fits."""
    criteria = Criteria(
        sex=sex,
        age=age,
        exploitation_type=exploitation_type,
        services=frozenset(service or ()),
        language=language,
        nationality=nationality,
        facility_type=facility_type,
        province_code=province,
        only_in_province=only_in_province,
        only_with_free_beds=only_with_free_beds,
    )
    return await directory.search(
        database, context.keys, criteria, limit, whereabouts_for(reader, context.registrar)
    )


@router.post(
    "/facilities",
    openapi_extra=NEW_RECORD,
    status_code=status.HTTP_201_CREATED,
    response_model=FacilityPublic,
    tags=["facilities"],
    responses=error_responses(401, 403, 422),
)
async def register_facility(
    form: FacilityCreate, database: DatabaseDep, context: ContextDep, principal: Maintainer
) -> FacilityPublic:
    """Enter a facility; it waits as ``applied`` until MOSVY registers it."""
    return await registration.register_facility(database, context, form, principal)


@router.get(
    "/directory",
    openapi_extra=PUBLIC_READ,
    response_model=Page[FacilityPublic],
    tags=["facilities"],
    responses=error_responses(401, 403, 422),
)
async def list_directory(
    database: DatabaseDep,
    context: ContextDep,
    reader: Reader,
    page: PageDep,
    registration_status: RegistrationStatus | None = None,
    organisation_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[FacilityPublic]:
    """The whole directory in any registration status (MOSVY's queue: ``applied``)."""
    return await directory.directory_page(
        database,
        context.keys,
        page,
        whereabouts_for(reader, context.registrar),
        status=registration_status,
        organisation_id=organisation_id,
    )


@router.get(
    "/facilities/{facility_id}",
    openapi_extra=PUBLIC_READ,
    response_model=FacilityPublic,
    tags=["facilities"],
    responses=ONE_FACILITY,
)
async def get_facility(
    facility_id: UUID, database: DatabaseDep, context: ContextDep, reader: Reader
) -> FacilityPublic:
    """One directory entry, in whatever status."""
    sees = whereabouts_for(reader, context.registrar)
    return await facility_entry(database, context.keys, facility_id, sees)


@router.patch(
    "/facilities/{facility_id}",
    openapi_extra=OWNER_CHANGE,
    response_model=FacilityPublic,
    tags=["facilities"],
    responses=ONE_FACILITY,
)
async def update_facility(
    facility_id: UUID,
    form: FacilityUpdate,
    database: DatabaseDep,
    context: ContextDep,
    principal: Maintainer,
) -> FacilityPublic:
    """The owning organisation's staff (or MOSVY) change what the facility offers."""
    return await registration.update_facility(database, context, facility_id, form, principal)


@router.get(
    "/coverage",
    openapi_extra=PUBLIC_READ,
    response_model=CoverageReport,
    tags=["coverage"],
    responses=error_responses(401, 403),
)
async def coverage(database: DatabaseDep, _: Reader) -> CoverageReport:
    """Beds and services by population group, nationally and by province; the gaps."""
    return await directory.coverage_report(database)
