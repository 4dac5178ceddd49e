"""A facility row seen three ways: as matching needs it, as the API shows it, as events
carry it. One place, so that the directory and the events never disagree. And the reads
of one facility: its directory entry and its registration history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from sqlmodel import col, select

from nrm_contracts.events.identification import ExploitationType, Sex
from nrm_contracts.events.shelter_registry import (
    Capacity,
    Eligibility,
    FacilityType,
    InspectionResult,
    Location,
    OrganisationKind,
    Registration,
    RegistrationStatus,
    SupportService,
)
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from shelter_registry.access import sees_whereabouts
from shelter_registry.domain.facilities import Beds, FacilityProfile, offered_for_referral
from shelter_registry.schemas.facilities import (
    FacilityPublic,
    RegistrationPublic,
    StatusChangePublic,
)
from shelter_registry.store import (
    Facility,
    Organisation,
    StatusChange,
    json_list,
    load_facility,
    load_organisation,
)
from shelter_registry.store.sealing import opened_contacts

SeesWhereabouts = Callable[[Facility], bool]
"""For the caller: whether it may see where this facility is (``access.sees_whereabouts``)."""


def whereabouts_for(principal: Principal, registrar: str) -> SeesWhereabouts:
    def sees(facility: Facility) -> bool:
        return sees_whereabouts(
            principal, FacilityType(facility.facility_type), facility.organisation_id, registrar
        )

    return sees


def beds_of(facility: Facility) -> Beds:
    return Beds(facility.beds_total, facility.beds_occupied, facility.beds_reserved)


def to_profile(facility: Facility) -> FacilityProfile:
    """What matching and coverage need."""
    return FacilityProfile(
        id=facility.id,
        name=facility.name,
        organisation_id=facility.organisation_id,
        facility_type=FacilityType(facility.facility_type),
        services=frozenset(SupportService(s) for s in json_list(facility.services)),
        sexes=frozenset(Sex(s) for s in json_list(facility.sexes)),
        min_age=facility.min_age,
        max_age=facility.max_age,
        exploitation_types=frozenset(
            ExploitationType(t) for t in json_list(facility.exploitation_types)
        ),
        nationalities=frozenset(json_list(facility.nationalities)),
        languages=frozenset(json_list(facility.languages)),
        province_code=facility.province_code,
        latitude=facility.latitude,
        longitude=facility.longitude,
        status=RegistrationStatus(facility.status),
        beds=beds_of(facility),
    )


def public_state(facility: Facility, organisation: Organisation) -> dict[str, Any]:
    """The facility's public state: the fields every facility event carries."""
    beds = beds_of(facility)
    status = RegistrationStatus(facility.status)
    return {
        "facility_id": facility.id,
        "state_version": facility.state_version,
        "organisation_id": organisation.id,
        "organisation_kind": OrganisationKind(organisation.kind),
        "name": facility.name,
        "facility_type": FacilityType(facility.facility_type),
        "services": sorted(SupportService(s) for s in json_list(facility.services)),
        "eligibility": Eligibility(
            sexes=[Sex(s) for s in json_list(facility.sexes)],
            min_age=facility.min_age,
            max_age=facility.max_age,
            exploitation_types=[
                ExploitationType(t) for t in json_list(facility.exploitation_types)
            ],
            nationalities=json_list(facility.nationalities),
        ),
        "languages": json_list(facility.languages),
        "location": Location(
            province_code=facility.province_code,
            district_code=facility.district_code,
            latitude=facility.latitude,
            longitude=facility.longitude,
        ),
        "registration": Registration(
            status=status,
            offered_for_referral=offered_for_referral(status),
            status_changed_at=facility.status_changed_at,
            last_inspection_date=facility.last_inspection_date,
            last_inspection_result=(
                InspectionResult(facility.last_inspection_result)
                if facility.last_inspection_result
                else None
            ),
        ),
        "capacity": Capacity(
            beds_total=beds.total,
            beds_occupied=beds.occupied,
            beds_reserved=beds.reserved,
            beds_free=beds.free,
        ),
        "changed_at": facility.updated_at,
    }


def to_public(
    facility: Facility, organisation: Organisation, keys: KeyRing, *, whereabouts: bool = True
) -> FacilityPublic:
    """The directory entry: the public state, contacts (opened with ``keys``) and
    MOSVY's reason; without the street address and coordinates unless ``whereabouts``
    (``access.sees_whereabouts`` decides for the caller)."""
    state = public_state(facility, organisation)
    registration: Registration = state["registration"]
    contacts = opened_contacts(keys, facility)
    location: Location = state["location"]
    if not whereabouts:
        contacts = contacts.model_copy(update={"address": None})
        location = location.model_copy(update={"latitude": None, "longitude": None})
    return FacilityPublic(
        id=facility.id,
        organisation_id=organisation.id,
        organisation_name=organisation.name,
        organisation_kind=state["organisation_kind"],
        name=facility.name,
        facility_type=state["facility_type"],
        services=state["services"],
        eligibility=state["eligibility"],
        languages=state["languages"],
        location=location,
        contacts=contacts,
        whereabouts_withheld=not whereabouts,
        registration=RegistrationPublic(
            **registration.model_dump(), status_reason=facility.status_reason
        ),
        capacity=state["capacity"],
        state_version=facility.state_version,
        updated_at=facility.updated_at,
    )


async def facility_entry(
    database: Database, keys: KeyRing, facility_id: UUID, sees_whereabouts: SeesWhereabouts
) -> FacilityPublic:
    """One directory entry, in whatever status."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
        organisation = await load_organisation(session, facility.organisation_id)
    return to_public(facility, organisation, keys, whereabouts=sees_whereabouts(facility))


async def registration_history(database: Database, facility_id: UUID) -> list[StatusChangePublic]:
    """Every registration decision on the facility, oldest first, with its reason."""
    async with database.session() as session:
        await load_facility(session, facility_id)
        changes = (
            await session.exec(
                select(StatusChange)
                .where(col(StatusChange.facility_id) == facility_id)
                .order_by(col(StatusChange.id))
            )
        ).all()
    return [StatusChangePublic.model_validate(c, from_attributes=True) for c in changes]
