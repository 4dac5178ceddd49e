"""A person arriving at a facility, and the words of a refusal to count them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import PopulationGroup
from nrm_contracts.events.shelter_registry import PlacementRefusalReason


@dataclass(frozen=True)
class Admission:
    """A person arriving at a facility, as a placement event or a provider reports it."""

    placement_id: UUID
    facility_id: UUID
    referral_id: UUID | None = None
    referral_case_id: UUID | None = None
    population_group: PopulationGroup | None = None
    sex: Sex | None = None
    age_band: AgeBand | None = None
    started_at: datetime | None = None


def refusal_message(reason: PlacementRefusalReason) -> str:
    """The words of a refusal, for an API answer."""
    return {
        PlacementRefusalReason.FACILITY_FULL: "no free bed: every bed is occupied or reserved",
        PlacementRefusalReason.FACILITY_NOT_REGISTERED: (
            "the facility is not registered with MOSVY: it takes no referrals"
        ),
        PlacementRefusalReason.UNKNOWN_FACILITY: "no such facility in the registry",
    }[reason]
