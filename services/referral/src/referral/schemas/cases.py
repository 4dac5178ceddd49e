"""What the coordination reads of a referral case."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, Field

from nrm_contracts.events.identification import AgeBand, ConsentBasis, Sex
from referral.domain.cases import ReferralCaseStatus


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
