"""The provider's side: its referrals, the person's details, its webhook and delivery log."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field, HttpUrl

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.notices import Urgency
from nrm_contracts.events.referral import ReferralNeed
from nrm_runtime.http import RequestModel
from referral.domain.lifecycle import ReferralState
from referral.schemas.needs import SpecialNeed


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


class ProviderFeed(BaseModel):
    items: list[ProviderReferral]
    next_since: datetime | None


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
