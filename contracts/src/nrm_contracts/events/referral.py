"""Events published by the referral service on ``nrm.referral``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic


class ReferralCaseOpened(EventPayload):
    """A referral case opened for a person presumed or identified as a victim."""

    event_type: ClassVar[str] = "kh.nrm.referral.case.opened.v1"
    topic: ClassVar[Topic] = Topic.REFERRAL
    subject_field: ClassVar[str] = "referral_case_id"

    referral_case_id: UUID
    identification_case_id: UUID
    opened_at: datetime


class PopulationGroup(StrEnum):
    """The groups whose coverage by providers the NRM reports on."""

    GIRLS = "girls"
    BOYS = "boys"
    ADULT_WOMEN = "adult_women"
    ADULT_MEN = "adult_men"
    TRANSGENDER_PERSONS = "transgender_persons"
    OTHER = "other"


class PlacementExitReason(StrEnum):
    REINTEGRATED = "reintegrated"
    TRANSFERRED = "transferred"
    LEFT = "left"
    REPATRIATED = "repatriated"
    OTHER = "other"


class PlacementStarted(EventPayload):
    """A person referred to a facility was admitted there: the placement began.

    The shelter registry counts the bed as occupied (converting the referral's
    reservation, if it held one), or refuses when the facility has no free bed.
    """

    event_type: ClassVar[str] = "kh.nrm.referral.placement.started.v1"
    topic: ClassVar[Topic] = Topic.REFERRAL
    subject_field: ClassVar[str] = "referral_case_id"

    referral_case_id: UUID
    referral_id: UUID = Field(description="The referral to the facility that led to it.")
    placement_id: UUID = Field(description="Unique per stay: a placement counts once.")
    facility_id: UUID = Field(description="The shelter-registry facility.")
    population_group: PopulationGroup
    sex: Sex
    age_band: AgeBand
    started_at: datetime


class PlacementEnded(EventPayload):
    """The person left the facility: the placement ended and the bed is free again."""

    event_type: ClassVar[str] = "kh.nrm.referral.placement.ended.v1"
    topic: ClassVar[Topic] = Topic.REFERRAL
    subject_field: ClassVar[str] = "referral_case_id"

    referral_case_id: UUID
    referral_id: UUID
    placement_id: UUID
    facility_id: UUID
    population_group: PopulationGroup
    sex: Sex
    age_band: AgeBand
    exit_reason: PlacementExitReason
    ended_at: datetime


class ReferralNeed(StrEnum):
    """What a needs assessment may find a person needs (the issue's list)."""

    SAFE_ACCOMMODATION = "safe_accommodation"
    MEDICAL = "medical"
    PSYCHOSOCIAL = "psychosocial"
    LEGAL_AID = "legal_aid"
    FAMILY_TRACING = "family_tracing"
    REPATRIATION = "repatriation"
    EDUCATION = "education"
    VOCATIONAL_TRAINING = "vocational_training"
    REINTEGRATION_SUPPORT = "reintegration_support"


class DeclineReason(StrEnum):
    NO_CAPACITY = "no_capacity"
    NOT_ELIGIBLE = "not_eligible"
    CANNOT_MEET_NEEDS = "cannot_meet_needs"
    SAFETY_CONCERN = "safety_concern"
    OTHER = "other"


class CancellationReason(StrEnum):
    CONSENT_WITHDRAWN = "consent_withdrawn"
    NEEDS_CHANGED = "needs_changed"
    PERSON_UNREACHABLE = "person_unreachable"
    PLACED_ELSEWHERE = "placed_elsewhere"
    OTHER = "other"


class ReferralEvent(EventPayload):
    """Base of a referral's lifecycle events. Keyed by the referral case, so that all
    referrals of one person stay in order on one partition."""

    topic: ClassVar[Topic] = Topic.REFERRAL
    subject_field: ClassVar[str] = "referral_case_id"

    referral_case_id: UUID
    referral_id: UUID
    organisation_id: str = Field(min_length=1, max_length=64, description="The provider.")
    facility_id: UUID = Field(description="The shelter-registry facility addressed.")


class ReferralOpened(ReferralEvent):
    """A referral to one provider's facility was drafted from the case's matching."""

    event_type: ClassVar[str] = "kh.nrm.referral.referral.opened.v1"

    needs: list[ReferralNeed] = Field(min_length=1)
    requires_signoff: bool = Field(description="Residential aftercare needs MOSVY sign-off.")
    opened_at: datetime


class ReferralSent(ReferralEvent):
    """The referral went to the provider (after sign-off where needed)."""

    event_type: ClassVar[str] = "kh.nrm.referral.referral.sent.v1"

    answer_due_at: datetime = Field(description="When the provider's answer is due.")
    sent_at: datetime


class ReferralAccepted(ReferralEvent):
    event_type: ClassVar[str] = "kh.nrm.referral.referral.accepted.v1"

    accepted_at: datetime


class ReferralDeclined(ReferralEvent):
    event_type: ClassVar[str] = "kh.nrm.referral.referral.declined.v1"

    reason: DeclineReason
    declined_at: datetime


class ReferralExpired(ReferralEvent):
    """The provider did not answer in time: escalated, and the case is re-routed."""

    event_type: ClassVar[str] = "kh.nrm.referral.referral.expired.v1"

    answer_due_at: datetime
    expired_at: datetime


class ReferralCancelled(ReferralEvent):
    event_type: ClassVar[str] = "kh.nrm.referral.referral.cancelled.v1"

    reason: CancellationReason
    cancelled_at: datetime


class ReferralClosed(ReferralEvent):
    """The referral ended after the person's exit (and follow-up)."""

    event_type: ClassVar[str] = "kh.nrm.referral.referral.closed.v1"

    exit_reason: PlacementExitReason | None = None
    closed_at: datetime


class ServiceGapRecorded(EventPayload):
    """No registered provider could meet a person's need: the gap the NRM reports."""

    event_type: ClassVar[str] = "kh.nrm.referral.service.gap_recorded.v1"
    topic: ClassVar[Topic] = Topic.REFERRAL
    subject_field: ClassVar[str] = "referral_case_id"

    referral_case_id: UUID
    gap_id: UUID
    population_group: PopulationGroup
    need: ReferralNeed
    province_code: str | None = Field(default=None, pattern=r"^[0-9]{2}$")
    recorded_at: datetime


EVENTS: list[type[EventPayload]] = [
    ReferralCaseOpened,
    PlacementStarted,
    PlacementEnded,
    ReferralOpened,
    ReferralSent,
    ReferralAccepted,
    ReferralDeclined,
    ReferralExpired,
    ReferralCancelled,
    ReferralClosed,
    ServiceGapRecorded,
]
