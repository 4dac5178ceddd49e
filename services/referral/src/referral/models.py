"""Request and response models of referral's API (table models never leave the service)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, Field, HttpUrl

from nrm_contracts.events.identification import AgeBand, ConsentBasis, Sex
from nrm_contracts.events.notices import Urgency
from nrm_contracts.events.referral import (
    CancellationReason,
    DeclineReason,
    PlacementExitReason,
    PopulationGroup,
    ReferralNeed,
)
from nrm_runtime.http import IsoDate, RequestModel
from referral.lifecycle import ReferralState
from referral.store import ReferralCaseStatus


class ReferralCasePublic(BaseModel):
    id: UUID
    identification_case_id: UUID | None = Field(
        description="None for a reception case opened from an inbound repatriation alone"
    )
    repatriation_case_id: UUID | None = None
    status: ReferralCaseStatus
    sex: Sex
    is_child: bool | None
    age_band: AgeBand
    province_code: str | None
    opened_at: datetime
    consent_basis: ConsentBasis | None
    consent_withdrawn_at: datetime | None = Field(
        description="Set when the person withdrew consent to referral; nothing more is done "
        "on the case until consent is given again"
    )


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


class ReferralCreate(RequestModel):
    facility_id: UUID
    needs: list[ReferralNeed] = Field(min_length=1, max_length=9)
    officer_contact: str = Field(
        min_length=3, max_length=200, description="How the provider reaches the referring officer."
    )


class TransitionRequest(RequestModel):
    reason: str | None = Field(
        default=None,
        max_length=40,
        description=f"decline: one of {', '.join(DeclineReason)}; "
        f"cancel: one of {', '.join(CancellationReason)}",
    )
    exit_reason: PlacementExitReason | None = Field(default=None, description="exit: how")


class ReferralStepPublic(BaseModel):
    action: str
    from_state: ReferralState
    to_state: ReferralState
    actor: str
    at: datetime


class ReferralPublic(BaseModel):
    id: UUID
    referral_case_id: UUID
    organisation_id: str
    facility_id: UUID
    kind: str
    needs: list[ReferralNeed]
    state: ReferralState
    requires_signoff: bool
    allowed_actions: list[str]
    answer_due_at: datetime | None
    escalated_at: datetime | None
    decline_reason: str | None
    cancel_reason: str | None
    exit_reason: str | None
    placement_id: UUID | None
    placement_refused: str | None
    created_at: datetime
    updated_at: datetime
    history: list[ReferralStepPublic] = Field(default_factory=list)


class ProviderReferral(BaseModel):
    """What the addressed provider sees: no name, no birth date; the person's wishes and
    notes only after acceptance and only with consent to data sharing."""

    id: UUID
    referral_case_id: UUID
    facility_id: UUID
    state: ReferralState
    kind: str
    needs: list[ReferralNeed]
    urgency: Urgency | None
    sex: Sex
    age_band: AgeBand
    is_child: bool | None
    languages: list[str]
    special_needs: list[SpecialNeed]
    referring_officer_contact: str | None
    answer_due_at: datetime | None
    allowed_actions: list[str]
    updated_at: datetime


class PersonDetails(BaseModel):
    """Disclosed to the accepting provider with consent to data sharing (audited)."""

    referral_id: UUID
    identification_case_id: UUID | None = Field(
        description="Identification holds the person's identity; ask it with this id."
    )
    wishes: str | None
    notes: str | None
    languages: list[str]
    special_needs: list[SpecialNeed]


class WebhookRegistration(RequestModel):
    url: HttpUrl


class WebhookRegistered(BaseModel):
    organisation_id: str
    url: str
    secret: str = Field(
        description="Shown once. A Standard Webhooks secret (whsec_...): verify each "
        "notice's webhook-signature with it, e.g. with the standardwebhooks library.",
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
    )


class WebhookSecretRotated(BaseModel):
    secret: str = Field(
        description="Shown once: the new whsec_ secret, signing every notice from now on.",
        pattern=r"^whsec_[A-Za-z0-9+/]+={0,2}$",
    )
    previous_secret_valid_until: datetime = Field(
        description="Until then each notice also carries a signature by the previous "
        "secret (two in webhook-signature), so a verifier may switch at any time before."
    )


class DeliveryAttemptPublic(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


class DeliveryPublic(BaseModel):
    id: UUID
    referral_id: UUID
    channel: str
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None = Field(
        description="When it was given up (failing for the service's give-up period): "
        "no longer attempted until redelivered."
    )
    last_error: str | None
    log: list[DeliveryAttemptPublic]


class GapPublic(BaseModel):
    population_group: PopulationGroup
    need: ReferralNeed
    province_code: str | None
    count: int


class FollowUpRecord(RequestModel):
    visited_on: IsoDate
    notes: str | None = Field(default=None, max_length=4000)


class FollowUpPublic(BaseModel):
    id: UUID
    referral_id: UUID
    due_on: date
    visited_on: date | None
    overdue: bool
