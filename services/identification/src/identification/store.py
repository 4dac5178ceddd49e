"""Identification's tables. Personal data stays in this service's database, and names,
birth dates and document numbers each have a column of their own, so that field-level
encryption can be added to exactly those columns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, Column, PrimaryKeyConstraint, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from nrm_runtime.tables import UtcDateTime


class IdentificationTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


def _moment(*, index: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False, index=index))


class IdentificationCase(IdentificationTable, table=True):
    """One person, one experience: the screenings, decisions and consents about it.

    The decision history is the ``decision`` table (append-only); the columns here are
    the case's current state, kept in step in the same transaction as each change.
    """

    __tablename__ = "identification_case"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    person_ref: UUID = Field(default_factory=uuid4, unique=True)
    opened_by_organisation: str = Field(max_length=64, index=True)
    opened_at: datetime = _moment(index=True)
    first_encounter_date: date
    province_code: str | None = Field(default=None, max_length=2, index=True)
    country_code: str | None = Field(default=None, max_length=3)
    status: str = Field(max_length=40, index=True)
    stage: str | None = Field(default=None, max_length=20, index=True)
    preliminary_due_on: date
    final_due_on: date | None = None
    recovery_period_ends_on: date | None = None
    next_deadline: str | None = Field(default=None, max_length=30)
    next_deadline_on: date | None = Field(default=None, index=True)
    non_punishment_since: date | None = None


class Screening(IdentificationTable, table=True):
    """A screening as recorded by a first responder."""

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(index=True)
    reporting_organisation: str = Field(index=True, max_length=64)
    recorded_by: str = Field(max_length=200)
    given_name: str
    family_name: str
    given_name_khmer: str | None = None
    family_name_khmer: str | None = None
    aliases: list[str] = _json_list()
    sex: str = Field(max_length=20)
    birth_date: date | None = None
    birth_date_precision: str | None = Field(default=None, max_length=20)
    estimated_age: int | None = None
    nationality: str | None = Field(default=None, max_length=3)
    languages: list[str] = _json_list()
    encounter_type: str = Field(max_length=50)
    encounter_date: date
    province_code: str | None = Field(default=None, max_length=2)
    district_code: str | None = Field(default=None, max_length=4)
    country_code: str | None = Field(default=None, max_length=3)
    acts: list[str] = _json_list()
    means: list[str] = _json_list()
    purposes: list[str] = _json_list()
    labour_sectors: list[str] = _json_list()
    act_notes: str | None = None
    means_notes: str | None = None
    purpose_notes: str | None = None
    continuum_position: str | None = Field(default=None, max_length=1)
    person_consented: bool | None = None
    exploitation_country_code: str | None = Field(default=None, max_length=3)
    exploitation_province_code: str | None = Field(default=None, max_length=2)
    needs_hints: list[str] = _json_list()
    is_child: bool | None = None
    age_band: str | None = Field(default=None, max_length=20)
    presumptive_result: str | None = Field(default=None, max_length=50)
    assessment: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class IdentityDocument(IdentificationTable, table=True):
    """An identity document the person holds, or that was taken from them."""

    __tablename__ = "identity_document"

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    screening_id: UUID = Field(foreign_key="screening.id", index=True)
    kind: str = Field(max_length=30)
    status: str = Field(max_length=30)
    issuing_country: str | None = Field(default=None, max_length=3)
    number: str | None = Field(default=None, max_length=100)


class Decision(IdentificationTable, table=True):
    """A decision of the Competent Authority. Never updated: a reconsideration is a new
    decision naming the one it revisits. ``sequence`` orders a case's decisions and
    refuses two decisions taken at once on the same history."""

    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    sequence: int
    stage: str = Field(max_length=20)
    outcome: str = Field(max_length=30)
    rationale: str
    decided_on: date
    decided_by: str = Field(max_length=200)
    decided_by_organisation: str = Field(max_length=64)
    reconsiders_id: UUID | None = Field(default=None, foreign_key="decision.id")
    recorded_at: datetime = _moment()


class ConsentRecord(IdentificationTable, table=True):
    """Consent for one purpose, as given, refused or withdrawn. Append-only: the latest
    record of a purpose is the consent in force; ``sequence`` orders a case's records."""

    __tablename__ = "consent_record"
    __table_args__ = (UniqueConstraint("case_id", "sequence"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    sequence: int
    purpose: str = Field(max_length=20)
    status: str = Field(max_length=20)
    basis: str = Field(max_length=30)
    given_on: date
    recorded_by: str = Field(max_length=200)
    recorded_by_organisation: str = Field(max_length=64)
    recorded_at: datetime = _moment()


class OverdueNotice(IdentificationTable, table=True):
    """A deadline found passed; unique, so that each is announced once."""

    __tablename__ = "overdue_notice"
    __table_args__ = (UniqueConstraint("case_id", "deadline", "due_on"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    case_id: UUID = Field(foreign_key="identification_case.id", index=True)
    deadline: str = Field(max_length=30)
    due_on: date
    detected_at: datetime = _moment()


class ScreeningRequest(IdentificationTable, table=True):
    """An ``Idempotency-Key`` a caller used, with the screening it created."""

    __tablename__ = "screening_request"
    __table_args__ = (PrimaryKeyConstraint("organisation", "idempotency_key"),)

    organisation: str = Field(max_length=64)
    idempotency_key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    screening_id: UUID = Field(foreign_key="screening.id")
    recorded_at: datetime = _moment()


tables = IdentificationTable.metadata
