"""Referral cases as the API gives them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel

from nrm_contracts.events.identification import Sex
from referral.store import ReferralCaseStatus


class ReferralCasePublic(BaseModel):
    id: UUID
    identification_case_id: UUID
    status: ReferralCaseStatus
    sex: Sex
    is_child: bool | None
    province_code: str | None
    opened_at: datetime
