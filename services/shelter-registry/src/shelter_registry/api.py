"""The registry's HTTP routes: organisations, facilities, registration, search, coverage."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from sqlmodel import col, select

from nrm_contracts.events.identification import ExploitationType, Sex
from nrm_contracts.events.shelter_registry import (
    FacilityType,
    RegistrationStatus,
    SupportService,
)
from nrm_runtime.auth import Principal
from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from shelter_registry import directory, matching, registration
from shelter_registry.access import sees_whereabouts
from shelter_registry.contacts import KeysDep
from shelter_registry.dependencies import (
    NEW_RECORD,
    OWNER_CHANGE,
    PUBLIC_READ,
    REGISTRAR_DECISION,
    Maintainer,
    Now,
    Reader,
    Registrar,
    SettingsDep,
)
from shelter_registry.models import (
    CoverageReport,
    FacilityCreate,
    FacilityPublic,
    FacilityUpdate,
    InspectionIn,
    OrganisationCreate,
    OrganisationPublic,
    ProvinceCode,
    RegistrationDecision,
    SearchResults,
    StatusChangePublic,
)
from shelter_registry.reference import geography
from shelter_registry.store import Facility, Organisation, load_facility, load_organisation
from shelter_registry.views import to_public

router = APIRouter()


def _whereabouts_for(principal: Principal, registrar: str) -> directory.SeesWhereabouts:
    def sees(facility: Facility) -> bool:
        return sees_whereabouts(
            principal, FacilityType(facility.facility_type), facility.organisation_id, registrar
        )

    return sees


@router.post(
    "/organisations",
    openapi_extra=NEW_RECORD,
    status_code=status.HTTP_201_CREATED,
    response_model=OrganisationPublic,
    tags=["organisations"],
    responses=error_responses(401, 403, 409, 422),
)
async def create_organisation(
    form: OrganisationCreate,
    database: DatabaseDep,
    principal: Maintainer,
    settings: SettingsDep,
    now: Now,
) -> OrganisationPublic:
    """Record a provider organisation (MOSVY's registrar, or the organisation's own staff)."""
    return await registration.create_organisation(
        database, form, principal, registrar=settings.registrar_organisation, now=now
    )


@router.get(
    "/organisations",
    openapi_extra=PUBLIC_READ,
    response_model=list[OrganisationPublic],
    tags=["organisations"],
    responses=error_responses(401, 403),
)
async def list_organisations(database: DatabaseDep, _: Reader) -> list[OrganisationPublic]:
    """Every provider organisation in the registry."""
    async with database.session() as session:
        found = (await session.exec(select(Organisation).order_by(col(Organisation.id)))).all()
    return [OrganisationPublic.model_validate(o, from_attributes=True) for o in found]


@router.get(
    "/facilities",
    openapi_extra=PUBLIC_READ,
    response_model=SearchResults,
    tags=["search"],
    responses=error_responses(401, 403, 422),
)
async def search_facilities(
    database: DatabaseDep,
    keys: KeysDep,
    reader: Reader,
    settings: SettingsDep,
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
    if province is not None and not geography().is_province(province):
        raise ProblemError(422, "invalid_input", f"unknown province code {province}", "province")
    if only_in_province and province is None:
        raise ProblemError(422, "invalid_input", "only_in_province needs the province", "province")
    criteria = matching.Criteria(
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
        database, keys, criteria, limit, _whereabouts_for(reader, settings.registrar_organisation)
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
    form: FacilityCreate,
    database: DatabaseDep,
    keys: KeysDep,
    principal: Maintainer,
    settings: SettingsDep,
    now: Now,
) -> FacilityPublic:
    """Enter a facility; it waits as ``applied`` until MOSVY registers it."""
    return await registration.register_facility(
        database, keys, form, principal, registrar=settings.registrar_organisation, now=now
    )


@router.get(
    "/directory",
    openapi_extra=PUBLIC_READ,
    response_model=Page[FacilityPublic],
    tags=["facilities"],
    responses=error_responses(401, 403, 422),
)
async def list_directory(
    database: DatabaseDep,
    keys: KeysDep,
    reader: Reader,
    settings: SettingsDep,
    page: PageDep,
    registration_status: RegistrationStatus | None = None,
    organisation_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[FacilityPublic]:
    """The whole directory in any registration status (MOSVY's queue: ``applied``)."""
    return await directory.directory_page(
        database,
        keys,
        page,
        _whereabouts_for(reader, settings.registrar_organisation),
        status=registration_status,
        organisation_id=organisation_id,
    )


@router.get(
    "/facilities/{facility_id}",
    openapi_extra=PUBLIC_READ,
    response_model=FacilityPublic,
    tags=["facilities"],
    responses=error_responses(401, 403, 404, 422),
)
async def get_facility(
    facility_id: UUID,
    database: DatabaseDep,
    keys: KeysDep,
    reader: Reader,
    settings: SettingsDep,
) -> FacilityPublic:
    """One directory entry, in whatever status."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
        organisation = await load_organisation(session, facility.organisation_id)
    sees = _whereabouts_for(reader, settings.registrar_organisation)
    return to_public(facility, organisation, keys, whereabouts=sees(facility))


@router.patch(
    "/facilities/{facility_id}",
    openapi_extra=OWNER_CHANGE,
    response_model=FacilityPublic,
    tags=["facilities"],
    responses=error_responses(401, 403, 404, 422),
)
async def update_facility(
    facility_id: UUID,
    form: FacilityUpdate,
    database: DatabaseDep,
    keys: KeysDep,
    principal: Maintainer,
    settings: SettingsDep,
    now: Now,
) -> FacilityPublic:
    """The owning organisation's staff (or MOSVY) change what the facility offers."""
    return await registration.update_facility(
        database,
        keys,
        facility_id,
        form,
        principal,
        registrar=settings.registrar_organisation,
        now=now,
    )


@router.post(
    "/facilities/{facility_id}/registration",
    openapi_extra=REGISTRAR_DECISION,
    response_model=FacilityPublic,
    tags=["registration"],
    responses=error_responses(401, 403, 404, 409, 422),
)
async def decide_registration(
    facility_id: UUID,
    decision: RegistrationDecision,
    database: DatabaseDep,
    keys: KeysDep,
    principal: Registrar,
    settings: SettingsDep,
    now: Now,
) -> FacilityPublic:
    """MOSVY registers, suspends, reinstates or revokes a facility, with its reason."""
    return await registration.decide_registration(
        database,
        keys,
        facility_id,
        decision,
        principal,
        registrar=settings.registrar_organisation,
        now=now,
    )


@router.get(
    "/facilities/{facility_id}/registration/history",
    openapi_extra=PUBLIC_READ,
    response_model=list[StatusChangePublic],
    tags=["registration"],
    responses=error_responses(401, 403, 404, 422),
)
async def registration_history(
    facility_id: UUID, database: DatabaseDep, _: Reader
) -> list[StatusChangePublic]:
    """Every registration decision on the facility, oldest first, with its reason."""
    async with database.session() as session:
        await load_facility(session, facility_id)
        changes = await registration.status_history(session, facility_id)
    return [StatusChangePublic.model_validate(c, from_attributes=True) for c in changes]


@router.post(
    "/facilities/{facility_id}/inspections",
    openapi_extra=REGISTRAR_DECISION,
    response_model=FacilityPublic,
    tags=["registration"],
    responses=error_responses(401, 403, 404, 422),
)
async def record_inspection(
    facility_id: UUID,
    inspection: InspectionIn,
    database: DatabaseDep,
    keys: KeysDep,
    principal: Registrar,
    settings: SettingsDep,
    now: Now,
) -> FacilityPublic:
    """MOSVY records a minimum-standards inspection and its result."""
    return await registration.record_inspection(
        database,
        keys,
        facility_id,
        inspection,
        principal,
        registrar=settings.registrar_organisation,
        now=now,
    )


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


@router.get(
    "/organisations/{organisation_id}",
    openapi_extra=PUBLIC_READ,
    response_model=OrganisationPublic,
    tags=["organisations"],
    responses=error_responses(401, 403, 404, 422),
)
async def get_organisation(
    organisation_id: Annotated[str, Path(max_length=64)], database: DatabaseDep, _: Reader
) -> OrganisationPublic:
    """One provider organisation."""
    async with database.session() as session:
        organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation")
    return OrganisationPublic.model_validate(organisation, from_attributes=True)
