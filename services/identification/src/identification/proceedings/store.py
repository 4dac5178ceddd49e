"""The proceedings records' tables and the whereabouts read model, in identification's
database (they share its metadata: ``identification.store`` imports this module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field

from identification.store.tables import IdentificationTable
from nrm_runtime.tables import UtcDateTime


def _moment(*, nullable: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(UtcDateTime(), nullable=nullable),
    )


class Proceedings(IdentificationTable, table=True):
    """A criminal case: its reference (police case number or court file), the unit that
    investigates it and the office that prosecutes it."""

    __tablename__ = "proceedings"
    __table_args__ = (UniqueConstraint("reference_kind", "reference"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    reference_kind: str = Field(max_length=20)
    reference: str = Field(max_length=64)
    investigating_organisation: str = Field(max_length=64, index=True)
    prosecuting_office: str = Field(max_length=64, index=True)
    created_by_organisation: str = Field(max_length=64)
    created_at: datetime = _moment()


class ProceedingsLink(IdentificationTable, table=True):
    """An identification case linked to a proceedings record. A link unlinked keeps its
    row (``unlinked_at``) and is taken up again by a new link of the same case."""

    __tablename__ = "proceedings_link"
    __table_args__ = (UniqueConstraint("proceedings_id", "case_id"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    proceedings_id: UUID = Field(foreign_key="proceedings.id", index=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    basis: str = Field(max_length=20)
    legal_basis: str | None = Field(default=None, max_length=64)
    linked_by_organisation: str = Field(max_length=64)
    linked_at: datetime = _moment()
    unlinked_at: datetime | None = _moment(nullable=True)


class CaseWhereabouts(IdentificationTable, table=True):
    """Where a person's case stands outside identification, as referral's and
    repatriation's events tell it: a status and a country, never a place."""

    __tablename__ = "case_whereabouts"

    case_id: UUID = Field(primary_key=True)
    status: str = Field(max_length=30)
    country: str | None = Field(default=None, max_length=3)
    contact_organisation: str | None = Field(default=None, max_length=64)
    as_of: datetime = _moment()


class WhereaboutsReferralCase(IdentificationTable, table=True):
    """Which identification case a referral case serves (from ``case.opened``)."""

    __tablename__ = "whereabouts_referral_case"

    referral_case_id: UUID = Field(primary_key=True)
    case_id: UUID = Field(index=True)


class WhereaboutsRepatriationCase(IdentificationTable, table=True):
    """Which identification case a repatriation case returns, which way and where to."""

    __tablename__ = "whereabouts_repatriation_case"

    repatriation_case_id: UUID = Field(primary_key=True)
    case_id: UUID = Field(index=True)
    direction: str = Field(max_length=10)
    country: str = Field(max_length=3)
