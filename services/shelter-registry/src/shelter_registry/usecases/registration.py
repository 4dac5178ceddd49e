"""Facilities entering the registry, their details, and MOSVY's registration decisions.
Each operation is one unit of work that records its event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID, uuid4

from sqlalchemy import update
from sqlmodel import col

from nrm_contracts.events.shelter_registry import (
    FacilityRegistered,
    FacilityStatusChanged,
    FacilityUpdated,
    InspectionResult,
    RegistrationStatus,
)
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid, NotPermitted
from nrm_runtime.field_crypto import KeyRing
from shelter_registry import access
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.domain import facilities as rules
from shelter_registry.schemas.facilities import (
    FacilityCreate,
    FacilityPublic,
    FacilityUpdate,
    InspectionIn,
    RegistrationDecision,
)
from shelter_registry.store import (
    Facility,
    Organisation,
    StatusChange,
    load_facility,
    load_organisation,
)
from shelter_registry.store.sealing import sealed_contacts
from shelter_registry.usecases.reservations import release_held_reservations
from shelter_registry.views.facilities import public_state, to_public


@dataclass(frozen=True)
class InitialRegistration:
    """How a facility enters: normally ``applied``; reference data may bring more."""

    status: RegistrationStatus = RegistrationStatus.APPLIED
    reason: str = "application received"
    beds_occupied: int = 0
    inspection_date: date | None = None
    inspection_result: InspectionResult | None = None
    facility_id: UUID | None = None


async def add_facility(
    uow: UnitOfWork,
    form: FacilityCreate,
    organisation: Organisation,
    keys: KeyRing,
    *,
    decided_by: str,
    now: datetime,
    initial: InitialRegistration | None = None,
) -> Facility:
    """Insert a facility (its contacts sealed with ``keys``) and its first status record;
    record ``facility.registered``."""
    initial = initial or InitialRegistration()
    eligibility, location = form.eligibility, form.location
    facility_id = initial.facility_id or uuid4()
    facility = Facility(
        id=facility_id,
        organisation_id=organisation.id,
        name=form.name,
        facility_type=form.facility_type,
        services=_unique(form.services),
        sexes=_unique(eligibility.sexes),
        min_age=eligibility.min_age,
        max_age=eligibility.max_age,
        exploitation_types=_unique(eligibility.exploitation_types),
        nationalities=_unique(eligibility.nationalities),
        languages=_unique(form.languages),
        province_code=location.province_code,
        district_code=location.district_code,
        latitude=location.latitude,
        longitude=location.longitude,
        **sealed_contacts(keys, facility_id, form.contacts),
        status=initial.status,
        status_reason=initial.reason,
        status_changed_at=now,
        last_inspection_date=initial.inspection_date,
        last_inspection_result=initial.inspection_result,
        beds_total=form.beds_total,
        beds_occupied=initial.beds_occupied,
        beds_reserved=0,
        state_version=1,
        created_at=now,
        updated_at=now,
    )
    uow.session.add(facility)
    uow.session.add(
        StatusChange(
            facility_id=facility.id,
            from_status=None,
            to_status=initial.status,
            reason=initial.reason,
            decided_by=decided_by,
            decided_at=now,
        )
    )
    await uow.session.flush()
    uow.record(FacilityRegistered(**public_state(facility, organisation)))
    return facility


async def register_facility(
    database: Database,
    context: ShelterRegistryContext,
    form: FacilityCreate,
    principal: Principal,
) -> FacilityPublic:
    """A provider (for itself) or MOSVY enters a facility; it waits as ``applied``."""
    if not (
        access.is_registrar(principal, context.registrar)
        or access.is_owner_staff(principal, form.organisation_id)
    ):
        raise NotPermitted("you may enter facilities of your own organisation only")
    async with database.unit_of_work(actor=principal.actor) as uow:
        organisation = await uow.session.get(Organisation, form.organisation_id)
        if organisation is None:
            raise Invalid(
                f"unknown organisation {form.organisation_id}: record it first",
                field="organisation_id",
            )
        facility = await add_facility(
            uow,
            form,
            organisation,
            context.keys,
            decided_by=str(principal.actor),
            now=context.clock(),
        )
        await uow.commit()
    return to_public(facility, organisation, context.keys)


async def update_facility(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    form: FacilityUpdate,
    principal: Principal,
) -> FacilityPublic:
    """The provider (or MOSVY) changes what the facility offers, to whom, where."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_maintainer(principal, facility.organisation_id, context.registrar)
        changes: dict[str, object] = {}
        if form.name is not None:
            changes["name"] = form.name
        if form.facility_type is not None:
            changes["facility_type"] = form.facility_type
        if form.services is not None:
            changes["services"] = _unique(form.services)
        if form.languages is not None:
            changes["languages"] = _unique(form.languages)
        if form.eligibility is not None:
            changes |= {
                "sexes": _unique(form.eligibility.sexes),
                "min_age": form.eligibility.min_age,
                "max_age": form.eligibility.max_age,
                "exploitation_types": _unique(form.eligibility.exploitation_types),
                "nationalities": _unique(form.eligibility.nationalities),
            }
        if form.location is not None:
            changes |= {
                "province_code": form.location.province_code,
                "district_code": form.location.district_code,
                "latitude": form.location.latitude,
                "longitude": form.location.longitude,
            }
        if form.contacts is not None:
            changes |= sealed_contacts(context.keys, facility.id, form.contacts)
        facility, organisation = await _record_update(uow, facility, changes, context.clock())
        await uow.commit()
    return to_public(facility, organisation, context.keys)


async def record_inspection(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    form: InspectionIn,
    principal: Principal,
) -> FacilityPublic:
    """MOSVY records a minimum-standards inspection."""
    access.require_registrar(principal, context.registrar)
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        facility, organisation = await _record_update(
            uow,
            facility,
            {"last_inspection_date": form.date, "last_inspection_result": form.result},
            context.clock(),
        )
        await uow.commit()
    return to_public(facility, organisation, context.keys)


async def decide_registration(
    database: Database,
    context: ShelterRegistryContext,
    facility_id: UUID,
    decision: RegistrationDecision,
    principal: Principal,
) -> FacilityPublic:
    """MOSVY registers, suspends, reinstates or revokes a facility, with a reason.

    Suspending or revoking releases the beds held for referrals there: a facility that
    is not offered for referral holds no bed for one.
    """
    access.require_registrar(principal, context.registrar)
    now = context.clock()
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        current = RegistrationStatus(facility.status)
        if not rules.may_transition(current, decision.status):
            raise Conflict(
                f"a {current.value} facility cannot become {decision.status.value}",
                code="invalid_transition",
                field="status",
            )
        if not rules.offered_for_referral(decision.status):
            await release_held_reservations(uow, facility.id, now)
        facility = await _apply_change(
            uow,
            facility,
            {
                "status": decision.status,
                "status_reason": decision.reason,
                "status_changed_at": now,
            },
            now,
        )
        uow.session.add(
            StatusChange(
                facility_id=facility.id,
                from_status=current,
                to_status=decision.status,
                reason=decision.reason,
                decided_by=str(principal.actor),
                decided_at=now,
            )
        )
        organisation = await load_organisation(uow.session, facility.organisation_id)
        uow.record(
            FacilityStatusChanged(**public_state(facility, organisation), previous_status=current)
        )
        await uow.commit()
    return to_public(facility, organisation, context.keys)


async def _record_update(
    uow: UnitOfWork, facility: Facility, changes: dict[str, object], now: datetime
) -> tuple[Facility, Organisation]:
    """Apply ``changes`` and record ``facility.updated`` with the new public state."""
    facility = await _apply_change(uow, facility, changes, now)
    organisation = await load_organisation(uow.session, facility.organisation_id)
    uow.record(FacilityUpdated(**public_state(facility, organisation)))
    return facility, organisation


async def _apply_change(
    uow: UnitOfWork, facility: Facility, changes: dict[str, object], now: datetime
) -> Facility:
    """Write ``changes`` and the next state version in one UPDATE (the version is counted
    by the database, so concurrent changes never reuse one), then read the row back."""
    await uow.session.flush()
    await uow.session.exec(
        update(Facility)
        .where(col(Facility.id) == facility.id)
        .values(**changes, state_version=Facility.state_version + 1, updated_at=now)
    )
    return await load_facility(uow.session, facility.id)


def _unique(values: Sequence[object]) -> list[str]:
    """Each value once, in a stable order (the order a client gave does not matter)."""
    return sorted({str(value) for value in values})
