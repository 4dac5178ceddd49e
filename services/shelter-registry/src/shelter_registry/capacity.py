"""Admissions, discharges and the provider's own count of beds.

Each is one conditional UPDATE of the facility's beds (:mod:`shelter_registry.beds`
explains why that keeps ``occupied + reserved <= total`` under concurrent admissions on
SQLite and PostgreSQL alike); a placement id counts once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import PlacementExitReason, PopulationGroup
from nrm_contracts.events.shelter_registry import CapacityChangeCause, PlacementRefusalReason
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import ProblemError
from shelter_registry import access
from shelter_registry.beds import (
    OCCUPIED,
    RESERVED,
    announce,
    change_beds,
    has_free_bed,
    offered,
    refusal_reason,
)
from shelter_registry.domain import PlacementOutcome, ReservationState
from shelter_registry.models import CapacityUpdate
from shelter_registry.reservations import close_reservation, expire_due
from shelter_registry.store import Facility, Placement, load_facility


async def set_capacity(
    database: Database,
    facility_id: UUID,
    form: CapacityUpdate,
    principal: Principal,
    *,
    registrar: str,
    now: datetime,
) -> Facility:
    """The provider sets its beds (and may correct its census of occupied beds).

    422 on ``beds_total`` when it is below the beds in use: the provider must discharge
    or release first, never silently overbook.
    """
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_maintainer(principal, facility.organisation_id, registrar)
        await expire_due(uow, now, facility_id=facility_id)
        occupied = OCCUPIED if form.beds_occupied is None else form.beds_occupied
        changed = await change_beds(
            uow,
            facility_id,
            occupied + RESERVED <= form.beds_total,
            now,
            beds_total=form.beds_total,
            beds_occupied=occupied,
        )
        if not changed:
            facility = await load_facility(uow.session, facility_id)
            in_use = (
                facility.beds_occupied if form.beds_occupied is None else form.beds_occupied
            ) + facility.beds_reserved
            raise ProblemError(
                422,
                "invalid_input",
                f"{form.beds_total} beds is below the {in_use} in use "
                f"({facility.beds_reserved} reserved); discharge or release first",
                field="beds_total",
            )
        facility = await announce(uow, facility_id, CapacityChangeCause.PROVIDER_UPDATE, now)
        await uow.commit()
    return facility


@dataclass(frozen=True)
class Admission:
    """A person arriving at a facility, as a placement event or a provider reports it."""

    placement_id: UUID
    facility_id: UUID
    referral_id: UUID | None = None
    referral_case_id: UUID | None = None
    population_group: PopulationGroup | None = None
    sex: Sex | None = None
    age_band: AgeBand | None = None
    started_at: datetime | None = None


@dataclass(frozen=True)
class AdmissionResult:
    placement: Placement
    already_known: bool = False

    @property
    def refused(self) -> bool:
        return self.placement.outcome == PlacementOutcome.REFUSED

    @property
    def refusal_reason(self) -> PlacementRefusalReason | None:
        reason = self.placement.refusal_reason
        return PlacementRefusalReason(reason) if reason else None


async def admit(uow: UnitOfWork, admission: Admission, now: datetime) -> AdmissionResult:
    """Count one placement once: occupy a bed (the referral's reserved one, if it holds
    one), or record the refusal. The caller commits (or, for a refusal it answers with
    an error, rolls back)."""
    inserted = await _insert_placement(uow, admission, now)
    if not inserted:
        existing = await uow.session.get(Placement, admission.placement_id, populate_existing=True)
        assert existing is not None  # the insert found it
        return AdmissionResult(existing, already_known=True)
    await expire_due(uow, now, facility_id=admission.facility_id)
    admitted = False
    if admission.referral_id is not None and await close_reservation(
        uow, admission.facility_id, admission.referral_id, ReservationState.CONVERTED, now
    ):
        # The held bed becomes occupied: no free bed is needed, none is taken.
        admitted = await change_beds(
            uow,
            admission.facility_id,
            RESERVED >= 1,
            now,
            beds_occupied=OCCUPIED + 1,
            beds_reserved=RESERVED - 1,
        )
    if not admitted:
        admitted = await change_beds(
            uow,
            admission.facility_id,
            and_(offered(), has_free_bed()),
            now,
            beds_occupied=OCCUPIED + 1,
        )
    placement = await uow.session.get(Placement, admission.placement_id, populate_existing=True)
    assert placement is not None
    if admitted:
        await announce(
            uow,
            admission.facility_id,
            CapacityChangeCause.PLACEMENT_STARTED,
            now,
            placement_id=admission.placement_id,
            referral_id=admission.referral_id,
        )
    else:
        placement.outcome = PlacementOutcome.REFUSED
        placement.refusal_reason = await refusal_reason(uow, admission.facility_id)
        uow.session.add(placement)
        await uow.session.flush()
    return AdmissionResult(placement)


async def _insert_placement(uow: UnitOfWork, admission: Admission, now: datetime) -> bool:
    """Insert the placement unless its id is known: the natural idempotency of a stay.
    ``INSERT ... ON CONFLICT DO NOTHING`` on both databases, so two concurrent copies
    of one placement never both count."""
    values = {
        "id": admission.placement_id,
        "facility_id": admission.facility_id,
        "referral_id": admission.referral_id,
        "referral_case_id": admission.referral_case_id,
        "population_group": admission.population_group,
        "sex": admission.sex,
        "age_band": admission.age_band,
        "outcome": PlacementOutcome.ADMITTED.value,
        "started_at": admission.started_at or now,
        "recorded_at": now,
    }
    connection = await uow.session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(Placement).values(**values).on_conflict_do_nothing(index_elements=["id"])
    )
    result = await uow.session.exec(statement)
    return bool(result.rowcount == 1)


async def discharge(
    uow: UnitOfWork,
    facility_id: UUID,
    placement_id: UUID,
    exit_reason: PlacementExitReason,
    now: datetime,
) -> Placement | None:
    """End an admitted placement once and free its bed; None when there is no such
    admitted placement here (unknown, refused, or already ended: nothing to change)."""
    ended = await uow.session.exec(
        update(Placement)
        .where(
            col(Placement.id) == placement_id,
            col(Placement.facility_id) == facility_id,
            col(Placement.outcome) == PlacementOutcome.ADMITTED.value,
        )
        .values(outcome=PlacementOutcome.ENDED.value, ended_at=now, exit_reason=exit_reason)
    )
    if ended.rowcount != 1:
        return None
    # Floor at zero: a provider's census correction may already have counted them out.
    if await change_beds(uow, facility_id, OCCUPIED >= 1, now, beds_occupied=OCCUPIED - 1):
        await announce(
            uow,
            facility_id,
            CapacityChangeCause.PLACEMENT_ENDED,
            now,
            placement_id=placement_id,
        )
    return await uow.session.get(Placement, placement_id, populate_existing=True)
