"""Facilities as the API takes and gives them: never the table models themselves."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Self
from uuid import UUID

from pydantic import BaseModel, Field, StrictInt, model_validator

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
from nrm_runtime.http import INTEGRAL_FLOAT, IsoDate, RequestModel, invalid_field
from shelter_registry.domain.facilities import OLDEST_AGE
from shelter_registry.domain.geography import geography
from shelter_registry.schemas.organisations import OrganisationId

MAX_BEDS = 10_000
Alpha3 = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1")]


# Whole numbers, also as 3.0 (an integer to the schema); bounds before INTEGRAL_FLOAT, so
# that the schema states them (see nrm_runtime.http).
Age = Annotated[StrictInt, Field(ge=0, le=OLDEST_AGE), INTEGRAL_FLOAT]
Beds = Annotated[StrictInt, Field(ge=0, le=MAX_BEDS), INTEGRAL_FLOAT]


class EligibilityIn(RequestModel):
    """Whom the facility serves. Ages are inclusive; no nationalities means any."""

    sexes: list[Sex] = Field(min_length=1, max_length=5)
    min_age: Age
    max_age: Age
    exploitation_types: list[ExploitationType] = Field(min_length=1, max_length=20)
    nationalities: list[Alpha3] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _age_range_the_right_way_up(self) -> Self:
        if self.max_age < self.min_age:
            raise invalid_field(
                "eligibility.max_age", "the age range is upside down: max_age is below min_age"
            )
        return self


# The reference data's codes, as an enum in the schema: a client learns from the
# document, not from a refusal, that "00" is no province.
ProvinceCode = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{2}$",
        json_schema_extra={"enum": sorted(geography().provinces)},
        description="Province code, 01-25",
    ),
]


class LocationIn(RequestModel):
    province_code: ProvinceCode
    district_code: str | None = Field(
        default=None, pattern=r"^[0-9]{4}$", description="District code: province code + 2 digits"
    )
    # Cambodia lies within these bounds: a point outside is a typing error.
    latitude: float | None = Field(default=None, ge=9.5, le=15.0)
    longitude: float | None = Field(default=None, ge=102.0, le=108.0)

    @model_validator(mode="after")
    def _known_province_and_district(self) -> Self:
        if not geography().is_province(self.province_code):
            raise invalid_field(
                "location.province_code",
                f"unknown province code {self.province_code}: Cambodia's provinces are 01-25",
            )
        if self.district_code is not None and not self.district_code.startswith(self.province_code):
            raise invalid_field(
                "location.district_code",
                f"district {self.district_code} is not in province {self.province_code}",
            )
        if (self.latitude is None) != (self.longitude is None):
            raise invalid_field("location.longitude", "give both latitude and longitude, or none")
        return self


class ContactsIn(RequestModel):
    """The facility's public contacts (an office, never a person's own)."""

    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{6,30}$")
    email: str | None = Field(
        default=None, max_length=200, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
    )
    address: str | None = Field(default=None, min_length=1, max_length=500)


class FacilityCreate(RequestModel):
    """A facility entering the registry; it starts as ``applied`` until MOSVY decides."""

    organisation_id: OrganisationId
    name: str = Field(min_length=1, max_length=200)
    facility_type: FacilityType
    services: list[SupportService] = Field(min_length=1, max_length=20)
    eligibility: EligibilityIn
    languages: list[LanguageCode] = Field(min_length=1, max_length=20)
    location: LocationIn
    contacts: ContactsIn = Field(default_factory=ContactsIn)
    beds_total: Beds = 0


class FacilityUpdate(RequestModel):
    """What the provider maintains; an omitted field stays as it is."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    facility_type: FacilityType | None = None
    services: list[SupportService] | None = Field(default=None, min_length=1, max_length=20)
    eligibility: EligibilityIn | None = None
    languages: list[LanguageCode] | None = Field(default=None, min_length=1, max_length=20)
    location: LocationIn | None = None
    contacts: ContactsIn | None = None


class InspectionIn(RequestModel):
    """A minimum-standards inspection by MOSVY."""

    date: IsoDate
    result: InspectionResult

    @model_validator(mode="after")
    def _not_in_future(self) -> Self:
        if self.date > date.today():
            raise invalid_field("date", "the inspection date is in the future")
        return self


class RegistrationDecision(RequestModel):
    """MOSVY's decision on a facility's registration, with its reason."""

    status: RegistrationStatus
    reason: str = Field(min_length=3, max_length=1000)


class ContactsPublic(BaseModel):
    phone: str | None
    email: str | None
    address: str | None


class RegistrationPublic(Registration):
    status_reason: str | None = Field(description="MOSVY's reason for the current status.")


class FacilityPublic(BaseModel):
    """A facility as the public directory shows it."""

    id: UUID
    organisation_id: str
    organisation_name: str
    organisation_kind: OrganisationKind
    name: str
    facility_type: FacilityType
    services: list[SupportService]
    eligibility: Eligibility
    languages: list[str]
    location: Location
    contacts: ContactsPublic
    whereabouts_withheld: bool = Field(
        description="True when the street address and coordinates of this shelter or "
        "transit centre are withheld from the caller: only its own organisation, MOSVY's "
        "coordinators and accompanying case managers see where persons stay."
    )
    registration: RegistrationPublic
    capacity: Capacity
    state_version: int
    updated_at: datetime


class StatusChangePublic(BaseModel):
    from_status: RegistrationStatus | None
    to_status: RegistrationStatus
    reason: str
    decided_by: str
    decided_at: datetime
