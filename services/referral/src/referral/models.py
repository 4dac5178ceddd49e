"""Referral cases as the API gives them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nrm_contracts.events.identification import ConsentBasis, Sex
from referral.store import ReferralCaseStatus


class ReferralCasePublic(BaseModel):
    id: UUID
    identification_case_id: UUID
    status: ReferralCaseStatus
    sex: Sex
    is_child: bool | None
    province_code: str | None
    opened_at: datetime
    consent_basis: ConsentBasis | None
    consent_withdrawn_at: datetime | None = Field(
        description="Set when the person withdrew consent to referral; nothing more is done "
        "on the case until consent is given again"
    )
