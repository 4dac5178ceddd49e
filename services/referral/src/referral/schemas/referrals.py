"""Referrals, their lifecycle and follow-up visits, as the coordination and the
addressed provider read them."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nrm_contracts.events.referral import (
    CancellationReason,
    DeclineReason,
    PlacementExitReason,
    ReferralNeed,
)
from nrm_runtime.http import IsoDate, RequestModel
from referral.domain.lifecycle import ReferralState


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


class FollowUpRecord(RequestModel):
    visited_on: IsoDate
    notes: str | None = Field(default=None, max_length=4000)


class FollowUpPublic(BaseModel):
    id: UUID
    referral_id: UUID
    due_on: date
    visited_on: date | None
    overdue: bool
