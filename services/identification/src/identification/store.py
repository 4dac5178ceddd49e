"""Identification's tables."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import Column
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from nrm_runtime.tables import UtcDateTime


class IdentificationTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


class Screening(IdentificationTable, table=True):
    """A screening as recorded by a first responder. Personal data stays in this service."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(index=True)
    reporting_organisation: str = Field(index=True, max_length=64)
    recorded_by: str = Field(max_length=200)
    given_name: str
    family_name: str
    given_name_khmer: str | None = None
    family_name_khmer: str | None = None
    sex: str = Field(max_length=20)
    birth_date: date | None = None
    estimated_age: int | None = None
    nationality: str | None = Field(default=None, max_length=3)
    encounter_type: str = Field(max_length=50)
    encounter_date: date
    province_code: str | None = Field(default=None, max_length=2)
    country_code: str | None = Field(default=None, max_length=3)
    is_child: bool | None = None
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


tables = IdentificationTable.metadata
