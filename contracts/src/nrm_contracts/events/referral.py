"""Events published by the referral service on ``nrm.referral``."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

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


EVENTS: list[type[EventPayload]] = [ReferralCaseOpened]
