"""What downstream services learn of a decided case: no names, no birth dates, no
document numbers; the attributes referral and repatriation need to act."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from identification.domain.indicators import Purpose, exploitation_types
from nrm_contracts.events.identification import (
    AgeBand,
    ConsentBasis,
    ConsentPurpose,
    ConsentStatus,
    ExploitationType,
    LabourSector,
    NeedHint,
    Sex,
)

if TYPE_CHECKING:
    # Read attribute by attribute: the rule itself needs no database.
    from identification.store import ConsentRecord, Screening


@dataclass(frozen=True)
class VictimProfile:
    sex: Sex
    age_band: AgeBand
    is_child: bool | None
    nationality: str | None
    exploitation_types: list[ExploitationType]
    labour_sectors: list[LabourSector]
    province_code: str | None
    country_code: str | None
    needs_hints: list[NeedHint]
    consented_purposes: list[ConsentPurpose]
    referral_consent_basis: ConsentBasis | None


def profile_of(
    screenings: list[Screening], consents_in_force: list[ConsentRecord]
) -> VictimProfile:
    """The profile from the case's screenings (the first for who and where, all for what
    happened and what is needed) and the consents in force."""
    first = screenings[0]
    purposes = [Purpose(p) for screening in screenings for p in screening.purposes]
    sectors = {LabourSector(s) for screening in screenings for s in screening.labour_sectors}
    needs = {NeedHint(n) for screening in screenings for n in screening.needs_hints}
    given = [c for c in consents_in_force if c.status == ConsentStatus.GIVEN]
    referral = next((c for c in given if c.purpose == ConsentPurpose.REFERRAL), None)
    return VictimProfile(
        sex=Sex(first.sex),
        age_band=AgeBand(first.age_band) if first.age_band else AgeBand.UNKNOWN,
        is_child=first.is_child,
        nationality=first.nationality,
        exploitation_types=exploitation_types(purposes),
        labour_sectors=[sector for sector in LabourSector if sector in sectors],
        province_code=first.province_code,
        country_code=first.country_code,
        needs_hints=[need for need in NeedHint if need in needs],
        consented_purposes=[p for p in ConsentPurpose if any(c.purpose == p for c in given)],
        referral_consent_basis=ConsentBasis(referral.basis) if referral else None,
    )
