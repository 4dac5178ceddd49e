"""Admissions, discharges and the provider's own count of beds.

Each is one conditional UPDATE of the facility's beds (:mod:`shelter_registry.usecases.beds`
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

from nrm_contracts.events.referral import PlacementExitReason
from nrm_contracts.events.shelter_registry import CapacityChangeCause, PlacementRefusalReason
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid, NotFound
from shelter_registry import access
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.domain.facilities import PlacementOutcome, ReservationState
from shelter_registry.domain.placements import Admission, refusal_message
from shelter_registry.schemas.beds import CapacityUpdate, PlacementCreate, PlacementPublic
from shelter_registry.schemas.facilities import FacilityPublic
from shelter_registry.store import Placement, load_facility, load_organisation
from shelter_registry.usecases.beds import (
    OCCUPIED,
    RESERVED,
    announce,
    change_beds,
    has_free_bed,
    offered,
    refusal_reason,
)
from shelter_registry.usecases.reservations import close_reservation, expire_due
from shelter_registry.views.beds import placement_public
from shelter_registry.views.facilities import to_public


async def set_capacity(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    form: CapacityUpdate,
    principal: Principal,
) -> FacilityPublic:
    """The provider sets its beds (and may correct its census of occupied beds).

    Invalid ``beds_total`` when it is below the beds in use: the provider must discharge
    or release first, never silently overbook.
    """
    now = context.clock()
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_maintainer(principal, facility.organisation_id, context.registrar)
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
            raise Invalid(
                f"{form.beds_total} beds is below the {in_use} in use "
                f"({facility.beds_reserved} reserved); discharge or release first",
                field="beds_total",
            )
        facility = await announce(uow, facility_id, CapacityChangeCause.PROVIDER_UPDATE, now)
        organisation = await load_organisation(uow.session, facility.organisation_id)
        await uow.commit()
    return to_public(facility, organisation, context.keys)


async def record_admission(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    form: PlacementCreate,
    principal: Principal,
) -> tuple[PlacementPublic, bool]:
    """The provider records an admission: one bed more occupied, atomically, or Conflict
    ``facility_full`` when every bed is occupied or reserved (nothing is written then).
    Returns the placement and whether it is new: repeating a placement id changes
    nothing."""
    await _require_maintainer(database, context, facility_id, principal)
    async with database.unit_of_work(actor=principal.actor) as uow:
        result = await admit(
            uow,
            Admission(
                placement_id=form.placement_id,
                facility_id=facility_id,
                referral_id=form.referral_id,
                population_group=form.population_group,
                sex=form.sex,
                age_band=form.age_band,
            ),
            context.clock(),
        )
        if result.already_known:
            if result.placement.facility_id != facility_id:
                raise Conflict(
                    "this placement id belongs to another facility", field="placement_id"
                )
        elif result.refusal_reason is not None:
            reason = result.refusal_reason
            raise Conflict(refusal_message(reason), code=reason.value)
        await uow.commit()
    return placement_public(result.placement), not result.already_known


async def end_placement(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    placement_id: UUID,
    exit_reason: PlacementExitReason,
    principal: Principal,
) -> PlacementPublic:
    """The person left: the bed is free again. Conflict if the placement is not current."""
    await _require_maintainer(database, context, facility_id, principal)
    async with database.unit_of_work(actor=principal.actor) as uow:
        ended = await discharge(uow, facility_id, placement_id, exit_reason, context.clock())
        if ended is None:
            existing = await uow.session.get(Placement, placement_id)
            if existing is None or existing.facility_id != facility_id:
                raise NotFound("placement")
            raise Conflict(
                f"the placement is {existing.outcome}, not current",
                code="not_current",
                field="state",
            )
        await uow.commit()
    return placement_public(ended)


async def _require_maintainer(
    database: Database, context: ShelterRegistryContext, facility_id: UUID, principal: Principal
) -> None:
    """404 without the facility; 403 unless the caller may change it. Read before the
    unit of work that moves beds, so that the check holds no write lock."""
    async with database.session() as session:
        facility = await load_facility(session, facility_id)
    access.require_maintainer(principal, facility.organisation_id, context.registrar)


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
