"""Referral's tables."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.tables import UtcDateTime


class ReferralTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


class ReferralCaseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReferralCase(ReferralTable, table=True):
    """One per identification case: the unique constraint is the second guard against
    a doubled case, after the consumer's processed-message record."""

    __tablename__ = "referral_case"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    identification_case_id: UUID = Field(unique=True)
    status: str = Field(default=ReferralCaseStatus.OPEN, max_length=20)
    sex: str = Field(max_length=20)
    is_child: bool | None = None
    province_code: str | None = Field(default=None, max_length=2)
    opened_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False, index=True))
    consent_basis: str | None = Field(default=None, max_length=30)
    # Set when identification announces that consent to referral was withdrawn: the
    # case is kept (it is the record), but nothing more is done on it until renewed.
    consent_withdrawn_at: datetime | None = Field(
        default=None, sa_column=Column(UtcDateTime(), nullable=True)
    )


class AwaitingConsent(ReferralTable, table=True):
    """A presumed or identified victim without a valid consent to referral yet: the case
    opens when identification announces one."""

    __tablename__ = "awaiting_consent"

    identification_case_id: UUID = Field(primary_key=True)
    sex: str = Field(max_length=20)
    is_child: bool | None = None
    province_code: str | None = Field(default=None, max_length=2)
    noted_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


tables = ReferralTable.metadata


async def case_for_identification_case(
    session: AsyncSession, identification_case_id: UUID
) -> ReferralCase | None:
    result = await session.exec(
        select(ReferralCase).where(
            col(ReferralCase.identification_case_id) == identification_case_id
        )
    )
    return result.first()
