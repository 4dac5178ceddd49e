"""Matching a person's needs with facilities: pure rules, each with its reason.

A facility is a candidate for a need when it is offered for referral, offers the
service, takes the person (sex, age band, exploitation types, nationality) and, for a
need of a bed, has a free bed now. Candidates are ranked: same province first, then a
shared language, then more of the person's other needs met, then more free beds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nrm_contracts.events.identification import AgeBand
from nrm_contracts.events.referral import PopulationGroup, ReferralNeed
from nrm_contracts.events.shelter_registry import FacilityType, SupportService

# Which registry service meets which assessed need.
SERVICE_FOR_NEED: dict[ReferralNeed, SupportService] = {
    ReferralNeed.SAFE_ACCOMMODATION: SupportService.SAFE_ACCOMMODATION,
    ReferralNeed.MEDICAL: SupportService.MEDICAL,
    ReferralNeed.PSYCHOSOCIAL: SupportService.PSYCHOSOCIAL,
    ReferralNeed.LEGAL_AID: SupportService.LEGAL_AID,
    ReferralNeed.FAMILY_TRACING: SupportService.FAMILY_TRACING,
    ReferralNeed.REPATRIATION: SupportService.REPATRIATION_SUPPORT,
    ReferralNeed.EDUCATION: SupportService.EDUCATION,
    ReferralNeed.VOCATIONAL_TRAINING: SupportService.VOCATIONAL_TRAINING,
    ReferralNeed.REINTEGRATION_SUPPORT: SupportService.REINTEGRATION_SUPPORT,
}

# Facilities where a person stays: a referral there is residential aftercare (MOSVY signs
# it off) and admission occupies a bed.
RESIDENTIAL = frozenset({FacilityType.RESIDENTIAL_SHELTER, FacilityType.TRANSIT_CENTRE})

AGE_BANDS: dict[AgeBand, tuple[int, int]] = {
    AgeBand.UNDER_12: (0, 11),
    AgeBand.FROM_12_TO_17: (12, 17),
    AgeBand.FROM_18_TO_24: (18, 24),
    AgeBand.FROM_25_TO_39: (25, 39),
    AgeBand.FROM_40_TO_59: (40, 59),
    AgeBand.FROM_60: (60, 120),
    AgeBand.UNKNOWN: (0, 120),
}


@dataclass(frozen=True)
class Person:
    """What matching knows of a person: no name, no birth date."""

    sex: str
    age_band: AgeBand
    is_child: bool | None
    nationality: str | None
    exploitation_types: tuple[str, ...]
    province_code: str | None
    languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facility:
    """A facility as referral's read model of the registry holds it."""

    facility_id: str
    organisation_id: str
    name: str
    facility_type: str
    services: frozenset[str]
    sexes: frozenset[str]
    min_age: int
    max_age: int
    exploitation_types: frozenset[str]
    nationalities: frozenset[str]
    languages: frozenset[str]
    province_code: str
    offered_for_referral: bool
    beds_free: int


@dataclass
class Candidate:
    facility: Facility
    need: ReferralNeed
    score: tuple[int, ...] = ()
    reasons: list[str] = field(default_factory=list)


def population_group(sex: str, is_child: bool | None) -> PopulationGroup:
    """The group a gap or placement is counted in."""
    if sex == "transgender":
        return PopulationGroup.TRANSGENDER_PERSONS
    if sex == "female":
        return PopulationGroup.GIRLS if is_child else PopulationGroup.ADULT_WOMEN
    if sex == "male":
        return PopulationGroup.BOYS if is_child else PopulationGroup.ADULT_MEN
    return PopulationGroup.OTHER


def refusal(facility: Facility, person: Person, need: ReferralNeed) -> str | None:
    """Why ``facility`` cannot serve ``person`` for ``need``; None when it can."""
    if not facility.offered_for_referral:
        return "not offered for referral (not registered with MOSVY)"
    if SERVICE_FOR_NEED[need] not in facility.services:
        return f"does not offer {SERVICE_FOR_NEED[need]}"
    if person.sex not in facility.sexes:
        return f"does not take {person.sex} persons"
    low, high = AGE_BANDS[person.age_band]
    if high < facility.min_age or low > facility.max_age:
        return f"takes ages {facility.min_age}-{facility.max_age}, not {person.age_band}"
    if (
        person.exploitation_types
        and not set(person.exploitation_types) & facility.exploitation_types
    ):
        return "does not serve the exploitation suffered"
    if facility.nationalities and person.nationality not in facility.nationalities:
        return "does not take the person's nationality"
    if need is ReferralNeed.SAFE_ACCOMMODATION and facility.beds_free < 1:
        return "no free bed now"
    return None


def rank(
    facilities: list[Facility], person: Person, need: ReferralNeed, all_needs: list[ReferralNeed]
) -> list[Candidate]:
    """The facilities that can serve ``person`` for ``need``, best first, with reasons."""
    candidates = []
    for facility in facilities:
        if refusal(facility, person, need) is not None:
            continue
        candidate = Candidate(facility, need)
        candidate.reasons.append(f"offers {SERVICE_FOR_NEED[need]}")
        candidate.reasons.append(f"takes {person.sex} persons aged {person.age_band}")
        same_province = person.province_code is not None and (
            facility.province_code == person.province_code
        )
        if same_province:
            candidate.reasons.append(f"in the person's province ({facility.province_code})")
        shared = sorted(set(person.languages) & facility.languages)
        if shared:
            candidate.reasons.append(f"speaks {', '.join(shared)}")
        also = [n for n in all_needs if n is not need and SERVICE_FOR_NEED[n] in facility.services]
        if also:
            candidate.reasons.append(f"also offers {', '.join(sorted(also))}")
        if facility.beds_free:
            candidate.reasons.append(f"{facility.beds_free} free beds now")
        candidate.score = (int(same_province), len(shared), len(also), facility.beds_free)
        candidates.append(candidate)
    candidates.sort(key=lambda c: (c.score, c.facility.facility_id), reverse=True)
    return candidates
