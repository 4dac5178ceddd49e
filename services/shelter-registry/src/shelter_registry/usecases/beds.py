"""Live capacity: beds total, occupied and reserved, and every change to them: the
steps every use case that moves beds shares.

The invariant ``beds_occupied + beds_reserved <= beds_total`` holds under concurrent
admissions because no operation reads a count and writes it back. Each change is one
conditional UPDATE whose WHERE clause is the check (``... AND beds_occupied +
beds_reserved < beds_total``); the database evaluates check and increment atomically
and ``rowcount`` says whether it happened:

* on SQLite, writers are serialised by the database lock, and the UPDATE re-reads the
  row under it;
* on PostgreSQL, the UPDATE takes the row lock and, under READ COMMITTED, re-evaluates
  the WHERE clause on the newest committed row version before changing it, so two
  transactions can never both take the last bed.

The table's CHECK constraint is the second guard. Every change writes a history row and
records ``capacity.changed`` with the facility's full public state, in the same
transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, update
from sqlmodel import col

from nrm_contracts.events.shelter_registry import (
    CapacityChangeCause,
    CapacityChanged,
    PlacementRefusalReason,
    RegistrationStatus,
)
from nrm_runtime.database import UnitOfWork
from shelter_registry.store import CapacityChange, Facility, load_facility, load_organisation
from shelter_registry.views.facilities import public_state

OCCUPIED = col(Facility.beds_occupied)
RESERVED = col(Facility.beds_reserved)
TOTAL = col(Facility.beds_total)
VERSION = col(Facility.state_version)


def has_free_bed() -> ColumnElement[bool]:
    return OCCUPIED + RESERVED < TOTAL


def offered() -> ColumnElement[bool]:
    return col(Facility.status) == RegistrationStatus.REGISTERED.value


async def change_beds(
    uow: UnitOfWork, facility_id: UUID, condition: ColumnElement[bool], now: datetime, **values: Any
) -> bool:
    """One conditional UPDATE of a facility's beds; True when the condition held."""
    result = await uow.session.exec(
        update(Facility)
        .where(col(Facility.id) == facility_id, condition)
        .values(**values, state_version=VERSION + 1, updated_at=now)
    )
    return bool(result.rowcount == 1)


async def announce(
    uow: UnitOfWork,
    facility_id: UUID,
    cause: CapacityChangeCause,
    now: datetime,
    *,
    placement_id: UUID | None = None,
    referral_id: UUID | None = None,
    event: bool = True,
) -> Facility:
    """Write the history row of a change just made and record ``capacity.changed``."""
    facility = await load_facility(uow.session, facility_id)
    uow.session.add(
        CapacityChange(
            facility_id=facility_id,
            cause=cause,
            beds_total=facility.beds_total,
            beds_occupied=facility.beds_occupied,
            beds_reserved=facility.beds_reserved,
            placement_id=placement_id,
            referral_id=referral_id,
            changed_by=str(uow.actor) if uow.actor else "shelter-registry",
            changed_at=now,
        )
    )
    if event:
        organisation = await load_organisation(uow.session, facility.organisation_id)
        uow.record(
            CapacityChanged(
                **public_state(facility, organisation),
                cause=cause,
                placement_id=placement_id,
                referral_id=referral_id,
            )
        )
    return facility


async def refusal_reason(uow: UnitOfWork, facility_id: UUID) -> PlacementRefusalReason:
    facility = await uow.session.get(Facility, facility_id, populate_existing=True)
    if facility is None:
        return PlacementRefusalReason.UNKNOWN_FACILITY
    if facility.status != RegistrationStatus.REGISTERED:
        return PlacementRefusalReason.FACILITY_NOT_REGISTERED
    return PlacementRefusalReason.FACILITY_FULL
