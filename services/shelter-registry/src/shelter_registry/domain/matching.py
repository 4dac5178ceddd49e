"""Search for referral: which registered facilities can serve a person, ranked, with reasons.

Every criterion given is a filter: a facility that does not meet it is left out. Among
the facilities that remain, the ranking is by **fit**, then by **distance**:

* fit points: a free bed now (+2); a facility for the person's sex only (+1); for a
  child, a facility for children only (+1: MOSVY's minimum standards keep children
  apart from adults). A bed today matters more than a shorter journey.
* distance from the province where the person is: the same province, then a
  neighbouring one (a shared border), then the others by great-circle kilometres from
  the province capital to the facility.

Each result carries the reasons it fits, in words a case manager reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from nrm_contracts.events.identification import ExploitationType, Sex
from nrm_contracts.events.shelter_registry import FacilityType, SupportService
from shelter_registry.domain.facilities import ADULT_AGE, FacilityProfile, offered_for_referral
from shelter_registry.domain.geography import Geography

FREE_BED_POINTS = 2
SPECIALISED_POINTS = 1

SAME_PROVINCE = 0
NEIGHBOURING_PROVINCE = 1
OTHER_PROVINCE = 2


@dataclass(frozen=True)
class Criteria:
    """Who needs what, where: each given field filters; ``province_code`` also ranks."""

    sex: Sex | None = None
    age: int | None = None
    exploitation_type: ExploitationType | None = None
    services: frozenset[SupportService] = frozenset()
    language: str | None = None
    nationality: str | None = None
    facility_type: FacilityType | None = None
    province_code: str | None = None
    only_in_province: bool = False
    only_with_free_beds: bool = False


@dataclass(frozen=True)
class Match:
    """A facility that fits, how well, how far, and why."""

    facility: FacilityProfile
    fit: int
    proximity: int
    distance_km: float | None
    reasons: list[str] = field(default_factory=list)
    reasons_without_distance: list[str] = field(default_factory=list)
    """The same reasons, the place named by province only (for a caller who may not
    learn where a shelter is)."""

    def rank_key(self) -> tuple[int, int, float, str]:
        return (-self.fit, self.proximity, self.distance_km or 0.0, self.facility.name)


def search(
    facilities: Iterable[FacilityProfile], criteria: Criteria, geography: Geography
) -> list[Match]:
    """The facilities offered for referral that meet ``criteria``, best first."""
    matches = [
        match
        for facility in facilities
        if (match := assess(facility, criteria, geography)) is not None
    ]
    return sorted(matches, key=Match.rank_key)


def assess(facility: FacilityProfile, criteria: Criteria, geography: Geography) -> Match | None:
    """How ``facility`` fits ``criteria``; None when it does not (or is not offered)."""
    if not offered_for_referral(facility.status):
        return None
    reasons: list[str] = []
    fit = 0
    if criteria.facility_type is not None:
        if facility.facility_type is not criteria.facility_type:
            return None
        reasons.append(f"is a {criteria.facility_type.value.replace('_', ' ')}")
    if criteria.sex is not None:
        if criteria.sex not in facility.sexes:
            return None
        if facility.sexes == {criteria.sex}:
            fit += SPECIALISED_POINTS
            reasons.append(f"serves {criteria.sex.value} clients only")
        else:
            reasons.append(f"accepts {criteria.sex.value} clients")
    if criteria.age is not None:
        if not facility.min_age <= criteria.age <= facility.max_age:
            return None
        reasons.append(f"accepts age {criteria.age} ({facility.min_age} to {facility.max_age})")
        if criteria.age < ADULT_AGE and facility.max_age < ADULT_AGE:
            fit += SPECIALISED_POINTS
            reasons.append("for children only")
    if criteria.exploitation_type is not None:
        if criteria.exploitation_type not in facility.exploitation_types:
            return None
        reasons.append(
            f"supports survivors of {criteria.exploitation_type.value.replace('_', ' ')}"
        )
    if criteria.services:
        missing = criteria.services - facility.services
        if missing:
            return None
        offered = ", ".join(sorted(service.value for service in criteria.services))
        reasons.append(f"offers {offered}")
    if criteria.language is not None:
        if criteria.language not in facility.languages:
            return None
        reasons.append(f"staff speak {criteria.language}")
    if criteria.nationality is not None:
        if not facility.accepts_nationality(criteria.nationality):
            return None
        reasons.append(
            f"accepts {criteria.nationality} nationals"
            if facility.nationalities
            else "accepts any nationality"
        )
    free = facility.beds.free
    if criteria.only_with_free_beds and free == 0:
        return None
    if free > 0:
        fit += FREE_BED_POINTS
        reasons.append(f"{free} free bed{'s' if free != 1 else ''} now")
    proximity, distance = OTHER_PROVINCE, None
    coarse = list(reasons)
    if criteria.province_code is not None:
        if criteria.only_in_province and facility.province_code != criteria.province_code:
            return None
        proximity, distance, where, province = _distance(
            facility, criteria.province_code, geography
        )
        reasons.append(where)
        coarse.append(province)
    return Match(facility, fit, proximity, distance, reasons, coarse)


def _distance(
    facility: FacilityProfile, origin: str, geography: Geography
) -> tuple[int, float, str, str]:
    """Proximity, km, the place with its distance, and the place by province only."""
    km = geography.distance_km(
        origin, facility.province_code, facility.latitude, facility.longitude
    )
    name = geography.name_of(facility.province_code)
    if facility.province_code == origin:
        where = f"in {name}, the person's province"
        return SAME_PROVINCE, km, where, where
    if geography.are_adjacent(origin, facility.province_code):
        where = f"in neighbouring {name}"
        return NEIGHBOURING_PROVINCE, km, f"{where}, about {km:.0f} km away", where
    return OTHER_PROVINCE, km, f"in {name}, about {km:.0f} km away", f"in {name}"
