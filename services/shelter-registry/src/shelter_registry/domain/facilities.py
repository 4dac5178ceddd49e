"""Shelter-registry rules that need nothing from the outside world.

Who a facility serves, the population groups the NRM reports on, who may change what in
the registration lifecycle, and what a facility's beds allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from nrm_contracts.events.identification import ExploitationType, Sex
from nrm_contracts.events.referral import PopulationGroup
from nrm_contracts.events.shelter_registry import (
    FacilityType,
    RegistrationStatus,
    SupportService,
)

ADULT_AGE = 18
OLDEST_AGE = 120

# Registration with MOSVY: applied → registered → suspended or revoked. A suspension can
# be lifted (back to registered) or made final (revoked); revocation is final.
ALLOWED_TRANSITIONS: dict[RegistrationStatus, frozenset[RegistrationStatus]] = {
    RegistrationStatus.APPLIED: frozenset(
        {RegistrationStatus.REGISTERED, RegistrationStatus.REVOKED}
    ),
    RegistrationStatus.REGISTERED: frozenset(
        {RegistrationStatus.SUSPENDED, RegistrationStatus.REVOKED}
    ),
    RegistrationStatus.SUSPENDED: frozenset(
        {RegistrationStatus.REGISTERED, RegistrationStatus.REVOKED}
    ),
    RegistrationStatus.REVOKED: frozenset(),
}


class PlacementOutcome(StrEnum):
    ADMITTED = "admitted"
    ENDED = "ended"
    REFUSED = "refused"


class ReservationState(StrEnum):
    HELD = "held"
    CONVERTED = "converted"  # the person was admitted: the reserved bed became occupied
    RELEASED = "released"
    EXPIRED = "expired"


def may_transition(current: RegistrationStatus, target: RegistrationStatus) -> bool:
    """Whether MOSVY may move a facility's registration from ``current`` to ``target``."""
    return target in ALLOWED_TRANSITIONS[current]


def offered_for_referral(status: RegistrationStatus) -> bool:
    """Only a registered facility is offered for referral: never an applying, suspended or
    revoked one."""
    return status is RegistrationStatus.REGISTERED


@dataclass(frozen=True)
class Group:
    """A population group: one sex, an inclusive age range."""

    group: PopulationGroup
    sex: Sex
    min_age: int
    max_age: int


REPORTED_GROUPS: tuple[Group, ...] = (
    Group(PopulationGroup.GIRLS, Sex.FEMALE, 0, ADULT_AGE - 1),
    Group(PopulationGroup.BOYS, Sex.MALE, 0, ADULT_AGE - 1),
    Group(PopulationGroup.ADULT_WOMEN, Sex.FEMALE, ADULT_AGE, OLDEST_AGE),
    Group(PopulationGroup.ADULT_MEN, Sex.MALE, ADULT_AGE, OLDEST_AGE),
    Group(PopulationGroup.TRANSGENDER_PERSONS, Sex.TRANSGENDER, 0, OLDEST_AGE),
)


@dataclass(frozen=True)
class Beds:
    """A facility's beds. The invariant ``occupied + reserved <= total`` always holds."""

    total: int
    occupied: int
    reserved: int

    @property
    def free(self) -> int:
        return max(self.total - self.occupied - self.reserved, 0)


@dataclass(frozen=True)
class FacilityProfile:
    """What matching and coverage need to know of a facility."""

    id: UUID
    name: str
    organisation_id: str
    facility_type: FacilityType
    services: frozenset[SupportService]
    sexes: frozenset[Sex]
    min_age: int
    max_age: int
    exploitation_types: frozenset[ExploitationType]
    nationalities: frozenset[str]
    languages: frozenset[str]
    province_code: str
    latitude: float | None
    longitude: float | None
    status: RegistrationStatus
    beds: Beds

    @property
    def is_residential(self) -> bool:
        return self.facility_type is FacilityType.RESIDENTIAL_SHELTER

    def serves_group(self, group: Group) -> bool:
        """Whether anyone of ``group`` is eligible here (sex accepted, ages overlap)."""
        return (
            group.sex in self.sexes
            and self.min_age <= group.max_age
            and group.min_age <= self.max_age
        )

    def accepts_nationality(self, nationality: str) -> bool:
        return not self.nationalities or nationality in self.nationalities
