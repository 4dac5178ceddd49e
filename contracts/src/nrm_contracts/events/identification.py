"""Events published by the identification service on ``nrm.identification``.

No names, birth dates or other personal data travel in these events: the case id
serves, and a reader with business with the person asks identification for more.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic


class Sex(StrEnum):
    FEMALE = "female"
    MALE = "male"
    TRANSGENDER = "transgender"
    OTHER = "other"
    UNKNOWN = "unknown"


class EncounterType(StrEnum):
    POLICE_OPERATION = "police_operation"
    BORDER_OR_DEPORTATION_SCREENING = "border_or_deportation_screening"
    SELF_REFERRAL = "self_referral"
    HOTLINE = "hotline"
    NGO_OUTREACH = "ngo_outreach"
    EMBASSY_OR_CONSULATE = "embassy_or_consulate"
    COMMUNITY_REPORT = "community_report"


class ScreeningRecorded(EventPayload):
    """A first responder recorded a screening; it opened (or joined) an identification case."""

    event_type: ClassVar[str] = "kh.nrm.identification.screening.recorded.v1"
    topic: ClassVar[Topic] = Topic.IDENTIFICATION
    subject_field: ClassVar[str] = "case_id"

    case_id: UUID = Field(description="The identification case this screening belongs to.")
    screening_id: UUID
    reporting_organisation: str = Field(
        min_length=1, max_length=64, description="Organisation id of the first responder."
    )
    encounter_type: EncounterType
    sex: Sex
    is_child: bool | None = Field(
        default=None, description="Under 18 at the encounter, when the age is known or estimated."
    )
    nationality: str | None = Field(
        default=None, pattern=r"^[A-Z]{3}$", description="ISO 3166-1 alpha-3."
    )
    province_code: str | None = Field(
        default=None, pattern=r"^[0-9]{2}$", description="Cambodian province code of the encounter."
    )
    recorded_at: datetime


EVENTS: list[type[EventPayload]] = [ScreeningRecorded]
