"""Shelter-registry's tables.

The capacity invariant ``0 <= beds_occupied, 0 <= beds_reserved, beds_occupied +
beds_reserved <= beds_total`` is a CHECK constraint on the facility row as well as the
condition of every conditional UPDATE that changes beds (see ``usecases/beds.py``): a
write that would overbook fails in the database itself, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import JSON, CheckConstraint, Column, Index, Integer, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from nrm_runtime.field_rotation import SealedColumns
from nrm_runtime.tables import UtcDateTime


class ShelterRegistryTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, in this service's database only."""


class Organisation(ShelterRegistryTable, table=True):
    """A provider: an NGO, a government body (MOSVY's centres) or an international one."""

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)
    kind: str = Field(max_length=20)
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Facility(ShelterRegistryTable, table=True):
    """A place where an organisation serves victims, with its registration and its beds."""

    __table_args__ = (
        CheckConstraint(
            "beds_occupied >= 0 AND beds_reserved >= 0 "
            "AND beds_occupied + beds_reserved <= beds_total",
            name="ck_facility_beds_within_capacity",
        ),
        CheckConstraint("min_age <= max_age", name="ck_facility_age_range"),
    )

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=64)
    name: str = Field(max_length=200)
    facility_type: str = Field(max_length=30)
    services: list[str] = Field(sa_column=Column(JSON, nullable=False))
    sexes: list[str] = Field(sa_column=Column(JSON, nullable=False))
    min_age: int
    max_age: int
    exploitation_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    nationalities: list[str] = Field(sa_column=Column(JSON, nullable=False))
    languages: list[str] = Field(sa_column=Column(JSON, nullable=False))
    province_code: str = Field(max_length=2, index=True)
    district_code: str | None = Field(default=None, max_length=4)
    latitude: float | None = None
    longitude: float | None = None
    # Sealed (shelter_registry.store.sealing): a sealed value is longer than its plaintext.
    contact_phone: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    contact_email: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    contact_address: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(max_length=20, index=True)
    status_reason: str | None = Field(default=None, max_length=1000)
    status_changed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_inspection_date: date | None = None
    last_inspection_result: str | None = Field(default=None, max_length=30)
    beds_total: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    beds_occupied: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    beds_reserved: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    state_version: int = Field(default=1, sa_column=Column(Integer, nullable=False, default=1))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class StatusChange(ShelterRegistryTable, table=True):
    """Every registration decision, with MOSVY's reason: the registration's history."""

    __tablename__ = "status_change"

    # A sequence, not a uuid: decisions read back in the order they were made.
    id: int | None = Field(default=None, primary_key=True)
    facility_id: UUID = Field(foreign_key="facility.id", index=True)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str = Field(max_length=20)
    reason: str = Field(max_length=1000)
    decided_by: str = Field(max_length=200)
    decided_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class CapacityChange(ShelterRegistryTable, table=True):
    """The beds after every change, and what changed them: the capacity history."""

    __tablename__ = "capacity_change"
    __table_args__ = (Index("ix_capacity_change_facility_id", "facility_id", "id"),)

    # A sequence, not a uuid: the history reads back in the order it was written.
    id: int | None = Field(default=None, primary_key=True)
    facility_id: UUID = Field(foreign_key="facility.id")
    cause: str = Field(max_length=30)
    beds_total: int
    beds_occupied: int
    beds_reserved: int
    placement_id: UUID | None = None
    referral_id: UUID | None = None
    changed_by: str = Field(max_length=200)
    changed_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Placement(ShelterRegistryTable, table=True):
    """One stay of one person, counted once: its id is the natural idempotency key.

    A refused placement is kept too (``outcome`` says why): the referral service and the
    provider can see that it was not counted, and a redelivery finds it already decided.
    No person data: ids and the non-identifying group, sex and age band only.
    """

    id: UUID = Field(primary_key=True)
    facility_id: UUID = Field(index=True)
    referral_id: UUID | None = None
    referral_case_id: UUID | None = None
    population_group: str | None = Field(default=None, max_length=30)
    sex: str | None = Field(default=None, max_length=20)
    age_band: str | None = Field(default=None, max_length=20)
    outcome: str = Field(max_length=20)
    refusal_reason: str | None = Field(default=None, max_length=30)
    started_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    exit_reason: str | None = Field(default=None, max_length=30)
    recorded_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Reservation(ShelterRegistryTable, table=True):
    """A bed held for an accepted referral until it is taken, released or expires."""

    __table_args__ = (Index("ix_reservation_held_expiry", "state", "expires_at"),)

    id: UUID = Field(default_factory=uuid4, primary_key=True)
    facility_id: UUID = Field(foreign_key="facility.id", index=True)
    referral_id: UUID = Field(index=True)
    state: str = Field(max_length=20)
    reserved_by: str = Field(max_length=200)
    reserved_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


tables = ShelterRegistryTable.metadata

SEALED_FIELDS = [
    SealedColumns(
        Facility.__table__,  # type: ignore[attr-defined]
        "id",
        ("contact_phone", "contact_email", "contact_address"),
    ),
]
"""Where this service's sealed values are: ``nrm keys rotate-data`` reseals them."""


def json_list(value: Any) -> list[str]:
    """A JSON column's list as read back (never None for the columns above)."""
    return [str(item) for item in value or []]
