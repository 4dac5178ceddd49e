"""Events published by the shelter-registry service on ``nrm.shelter-registry``.

Event-carried state transfer: every facility event carries the facility's whole public
state (what it offers, to whom, where, its registration and its live capacity), so that
a reader (the referral service's matching) keeps its own read model and can rebuild it
by replaying the topic. ``state_version`` grows by one with every change of a facility:
a reader keeps the state with the highest version and ignores older ones.

Contacts (telephone, e-mail) and the free-text reasons of registration decisions stay in
the registry's API; they are not needed to match and do not travel here.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

# One vocabulary across the backbone: who a person is, what exploitation they suffered.
from nrm_contracts.events.identification import ExploitationType, Sex
from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic


class OrganisationKind(StrEnum):
    NGO = "ngo"
    GOVERNMENT = "government"
    INTERNATIONAL = "international"


class FacilityType(StrEnum):
    RESIDENTIAL_SHELTER = "residential_shelter"
    TRANSIT_CENTRE = "transit_centre"
    DROP_IN_CENTRE = "drop_in_centre"
    LEGAL_AID_OFFICE = "legal_aid_office"
    CLINIC = "clinic"


class SupportService(StrEnum):
    SAFE_ACCOMMODATION = "safe_accommodation"
    MEDICAL = "medical"
    PSYCHOSOCIAL = "psychosocial"
    LEGAL_AID = "legal_aid"
    FAMILY_TRACING = "family_tracing"
    EDUCATION = "education"
    VOCATIONAL_TRAINING = "vocational_training"
    REINTEGRATION_SUPPORT = "reintegration_support"
    REPATRIATION_SUPPORT = "repatriation_support"


class RegistrationStatus(StrEnum):
    """With MOSVY: applied → registered → suspended or revoked (suspended may return)."""

    APPLIED = "applied"
    REGISTERED = "registered"
    SUSPENDED = "suspended"
    REVOKED = "revoked"


class InspectionResult(StrEnum):
    """Against MOSVY's minimum standards for the protection of victims (2009)."""

    COMPLIANT = "compliant"
    PARTIALLY_COMPLIANT = "partially_compliant"
    NON_COMPLIANT = "non_compliant"


class CapacityChangeCause(StrEnum):
    PROVIDER_UPDATE = "provider_update"
    PLACEMENT_STARTED = "placement_started"
    PLACEMENT_ENDED = "placement_ended"
    RESERVATION_MADE = "reservation_made"
    RESERVATION_RELEASED = "reservation_released"
    RESERVATION_EXPIRED = "reservation_expired"


class PlacementRefusalReason(StrEnum):
    FACILITY_FULL = "facility_full"
    FACILITY_NOT_REGISTERED = "facility_not_registered"
    UNKNOWN_FACILITY = "unknown_facility"


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Eligibility(_State):
    """Whom the facility serves. Empty ``nationalities`` means any nationality."""

    sexes: list[Sex] = Field(min_length=1)
    min_age: int = Field(ge=0, le=120)
    max_age: int = Field(ge=0, le=120)
    exploitation_types: list[ExploitationType] = Field(min_length=1)
    nationalities: list[str] = Field(description="ISO 3166-1 alpha-3; empty: any.")


class Location(_State):
    province_code: str = Field(pattern=r"^[0-9]{2}$", description="Cambodian province code.")
    district_code: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="Cambodian district code."
    )
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)


class Registration(_State):
    status: RegistrationStatus
    offered_for_referral: bool = Field(
        description="Only a registered facility is ever offered for referral."
    )
    status_changed_at: datetime
    last_inspection_date: date | None = None
    last_inspection_result: InspectionResult | None = None


class Capacity(_State):
    """Beds. ``beds_occupied + beds_reserved <= beds_total`` always holds."""

    beds_total: int = Field(ge=0)
    beds_occupied: int = Field(ge=0)
    beds_reserved: int = Field(ge=0)
    beds_free: int = Field(ge=0)


class FacilityStateEvent(EventPayload):
    """Base of the facility events: the facility's whole public state after the change."""

    topic: ClassVar[Topic] = Topic.SHELTER_REGISTRY
    subject_field: ClassVar[str] = "facility_id"

    facility_id: UUID
    state_version: int = Field(ge=1, description="Grows by one with every change.")
    organisation_id: str = Field(min_length=1, max_length=64)
    organisation_kind: OrganisationKind
    name: str = Field(min_length=1, max_length=200, description="The facility's public name.")
    facility_type: FacilityType
    services: list[SupportService]
    eligibility: Eligibility
    languages: list[str] = Field(description="ISO 639-1 codes of the languages staff speak.")
    location: Location
    registration: Registration
    capacity: Capacity
    changed_at: datetime


class FacilityRegistered(FacilityStateEvent):
    """A facility entered the registry (usually as ``applied``; MOSVY then decides)."""

    event_type: ClassVar[str] = "kh.nrm.shelter_registry.facility.registered.v1"


class FacilityUpdated(FacilityStateEvent):
    """The facility's services, eligibility, languages, location or inspection changed."""

    event_type: ClassVar[str] = "kh.nrm.shelter_registry.facility.updated.v1"


class FacilityStatusChanged(FacilityStateEvent):
    """MOSVY changed the facility's registration status."""

    event_type: ClassVar[str] = "kh.nrm.shelter_registry.facility.status_changed.v1"

    previous_status: RegistrationStatus


class CapacityChanged(FacilityStateEvent):
    """The facility's beds changed: total, occupied or reserved."""

    event_type: ClassVar[str] = "kh.nrm.shelter_registry.capacity.changed.v1"

    cause: CapacityChangeCause
    placement_id: UUID | None = Field(default=None, description="When a placement caused it.")
    referral_id: UUID | None = Field(
        default=None, description="When a placement or reservation for a referral caused it."
    )


class PlacementRefused(EventPayload):
    """A ``placement.started`` could not be counted: the facility had no free bed, was not
    registered, or is unknown. The referral service sees why and re-routes."""

    event_type: ClassVar[str] = "kh.nrm.shelter_registry.placement.refused.v1"
    topic: ClassVar[Topic] = Topic.SHELTER_REGISTRY
    subject_field: ClassVar[str] = "facility_id"

    facility_id: UUID
    placement_id: UUID
    referral_id: UUID
    referral_case_id: UUID
    reason: PlacementRefusalReason
    refused_at: datetime


EVENTS: list[type[EventPayload]] = [
    FacilityRegistered,
    FacilityUpdated,
    FacilityStatusChanged,
    CapacityChanged,
    PlacementRefused,
]
