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


EVENTS: list[type[EventPayload]] = [ReferralCaseOpened, PlacementStarted, PlacementEnded]
