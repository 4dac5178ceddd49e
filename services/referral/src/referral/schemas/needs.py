"""A case's needs assessment, its matching with providers, and the service-gap report."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field

from nrm_contracts.events.notices import Urgency
from nrm_contracts.events.referral import (
    PopulationGroup,
    ReferralNeed,
)
from nrm_runtime.http import RequestModel


class SpecialNeed(StrEnum):
    CHILD = "child"
    ADULT_MAN = "adult_man"
    TRANSGENDER = "transgender"
    DISABILITY = "disability"
    LANGUAGE = "language"  # needs an interpreter
    PREGNANCY = "pregnancy"


# Two lowercase letters, as the server requires: stated in the schema, so that a client
# (or a fuzzer) knows it before it is refused.
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2}$", description="ISO 639-1, e.g. km")]


class AssessmentRequest(RequestModel):
    needs: list[ReferralNeed] = Field(min_length=1, max_length=9)
    urgency: Urgency
    special_needs: list[SpecialNeed] = Field(default_factory=list, max_length=6)
    languages: list[LanguageCode] = Field(
        default_factory=list, max_length=6, description="ISO 639-1 codes the person speaks."
    )
    wishes: str | None = Field(
        default=None, max_length=2000, description="The person's own wishes (sealed)."
    )
    notes: str | None = Field(default=None, max_length=4000, description="Sealed.")


class AssessmentPublic(BaseModel):
    referral_case_id: UUID
    needs: list[ReferralNeed]
    urgency: Urgency
    special_needs: list[SpecialNeed]
    languages: list[str]
    wishes: str | None
    notes: str | None
    assessed_at: datetime


class CandidatePublic(BaseModel):
    facility_id: UUID
    organisation_id: str
    facility_name: str
    facility_type: str
    province_code: str
    beds_free: int
    reasons: list[str]


class NeedMatch(BaseModel):
    need: ReferralNeed
    candidates: list[CandidatePublic]
    gap_recorded: bool = Field(description="No provider can meet this need: a service gap.")


class MatchResult(BaseModel):
    referral_case_id: UUID
    population_group: PopulationGroup
    matches: list[NeedMatch]


class GapPublic(BaseModel):
    population_group: PopulationGroup
    need: ReferralNeed
    province_code: str | None
    count: int
