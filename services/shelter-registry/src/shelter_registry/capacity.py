"""Live capacity: beds total, occupied and reserved, and every change to them.

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

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import PlacementExitReason, PopulationGroup
from nrm_contracts.events.shelter_registry import (
    CapacityChangeCause,
    CapacityChanged,
    PlacementRefusalReason,
    RegistrationStatus,
)
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import ProblemError
from shelter_registry import access
from shelter_registry.domain import PlacementOutcome, ReservationState
from shelter_registry.models import CapacityUpdate, ReservationPublic
from shelter_registry.store import (
    CapacityChange,
    Facility,
    Placement,
    Reservation,
    load_facility,
    load_organisation,
)
from shelter_registry.views import public_state

_occupied = col(Facility.beds_occupied)
_reserved = col(Facility.beds_reserved)
_total = col(Facility.beds_total)
_version = col(Facility.state_version)


def _has_free_bed() -> ColumnElement[bool]:
    return _occupied + _reserved < _total


def _offered() -> ColumnElement[bool]:
    return col(Facility.status) == RegistrationStatus.REGISTERED.value


async def _change_beds(
    uow: UnitOfWork, facility_id: UUID, condition: ColumnElement[bool], now: datetime, **values: Any
) -> bool:
    """One conditional UPDATE of a facility's beds; True when the condition held."""
    result = await uow.session.exec(
        update(Facility)
        .where(and_(col(Facility.id) == facility_id, condition))
        .values(**values, state_version=_version + 1, updated_at=now)
    )
    return bool(result.rowcount == 1)


async def _announce(
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
        occupied = _occupied if form.beds_occupied is None else form.beds_occupied
        changed = await _change_beds(
            uow,
            facility_id,
            occupied + _reserved <= form.beds_total,
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
        facility = await _announce(uow, facility_id, CapacityChangeCause.PROVIDER_UPDATE, now)
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
    if admission.referral_id is not None and await _close_reservation(
        uow, admission.facility_id, admission.referral_id, ReservationState.CONVERTED, now
    ):
        # The held bed becomes occupied: no free bed is needed, none is taken.
        admitted = await _change_beds(
            uow,
            admission.facility_id,
            _reserved >= 1,
            now,
            beds_occupied=_occupied + 1,
            beds_reserved=_reserved - 1,
        )
    if not admitted:
        admitted = await _change_beds(
            uow,
            admission.facility_id,
            and_(_offered(), _has_free_bed()),
            now,
            beds_occupied=_occupied + 1,
        )
    placement = await uow.session.get(Placement, admission.placement_id, populate_existing=True)
    assert placement is not None
    if admitted:
        await _announce(
            uow,
            admission.facility_id,
            CapacityChangeCause.PLACEMENT_STARTED,
            now,
            placement_id=admission.placement_id,
            referral_id=admission.referral_id,
        )
    else:
        placement.outcome = PlacementOutcome.REFUSED
        placement.refusal_reason = await _refusal_reason(uow, admission.facility_id)
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


async def _refusal_reason(uow: UnitOfWork, facility_id: UUID) -> PlacementRefusalReason:
    facility = await uow.session.get(Facility, facility_id, populate_existing=True)
    if facility is None:
        return PlacementRefusalReason.UNKNOWN_FACILITY
    if facility.status != RegistrationStatus.REGISTERED:
        return PlacementRefusalReason.FACILITY_NOT_REGISTERED
    return PlacementRefusalReason.FACILITY_FULL


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
    if await _change_beds(uow, facility_id, _occupied >= 1, now, beds_occupied=_occupied - 1):
        await _announce(
            uow,
            facility_id,
            CapacityChangeCause.PLACEMENT_ENDED,
            now,
            placement_id=placement_id,
        )
    return await uow.session.get(Placement, placement_id, populate_existing=True)


async def reserve(
    database: Database,
    facility_id: UUID,
    referral_id: UUID,
    principal: Principal,
    *,
    registrar: str,
    hold: timedelta,
    now: datetime,
) -> tuple[Reservation, bool]:
    """Hold a free bed for an accepted referral until ``now + hold``.

    Returns the reservation and whether it is new; the same referral asking again gets
    its held reservation back. 409 when the facility has no free bed or is not offered.
    """
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_bed_holder(principal, facility.organisation_id, registrar)
        await expire_due(uow, now, facility_id=facility_id)
        held = await _held_reservation(uow, facility_id, referral_id)
        if held is not None:
            await uow.commit()
            return held, False
        if not await _change_beds(
            uow, facility_id, and_(_offered(), _has_free_bed()), now, beds_reserved=_reserved + 1
        ):
            reason = await _refusal_reason(uow, facility_id)
            raise ProblemError(409, reason.value, refusal_message(reason))
        reservation = Reservation(
            facility_id=facility_id,
            referral_id=referral_id,
            state=ReservationState.HELD,
            reserved_by=str(principal.actor),
            reserved_at=now,
            expires_at=now + hold,
        )
        uow.session.add(reservation)
        await _announce(
            uow, facility_id, CapacityChangeCause.RESERVATION_MADE, now, referral_id=referral_id
        )
        await uow.commit()
    return reservation, True


async def release(
    database: Database,
    facility_id: UUID,
    reservation_id: UUID,
    principal: Principal,
    *,
    registrar: str,
    now: datetime,
) -> ReservationPublic:
    """Give a held bed back (the referral was withdrawn or went elsewhere)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        facility = await load_facility(uow.session, facility_id)
        access.require_bed_holder(principal, facility.organisation_id, registrar)
        reservation = await uow.session.get(Reservation, reservation_id)
        if reservation is None or reservation.facility_id != facility_id:
            raise ProblemError(404, "not_found", "reservation not found")
        closed = await uow.session.exec(
            update(Reservation)
            .where(
                col(Reservation.id) == reservation_id,
                col(Reservation.state) == ReservationState.HELD.value,
            )
            .values(state=ReservationState.RELEASED.value, closed_at=now)
        )
        if closed.rowcount != 1:
            raise ProblemError(
                409, "not_held", f"the reservation is {reservation.state}, not held", "state"
            )
        await _change_beds(uow, facility_id, _reserved >= 1, now, beds_reserved=_reserved - 1)
        await _announce(
            uow,
            facility_id,
            CapacityChangeCause.RESERVATION_RELEASED,
            now,
            referral_id=reservation.referral_id,
        )
        released = await uow.session.get(Reservation, reservation_id, populate_existing=True)
        assert released is not None
        public = ReservationPublic.model_validate(released, from_attributes=True)
        await uow.commit()
    return public


async def expire_due(uow: UnitOfWork, now: datetime, *, facility_id: UUID | None = None) -> int:
    """Expire every held reservation whose time is up (of one facility, or all) and free
    its bed. Returns how many expired. Each reservation expires once: the UPDATE only
    takes rows still held, so two sweeps never free one bed twice."""
    condition = [
        col(Reservation.state) == ReservationState.HELD.value,
        col(Reservation.expires_at) <= now,
    ]
    if facility_id is not None:
        condition.append(col(Reservation.facility_id) == facility_id)
    expired = await uow.session.exec(
        update(Reservation)
        .where(*condition)
        .values(state=ReservationState.EXPIRED.value, closed_at=now)
        .returning(col(Reservation.facility_id), col(Reservation.referral_id))
    )
    rows = list(expired.all())
    per_facility = Counter(row[0] for row in rows)
    for expired_facility, count in per_facility.items():
        await _change_beds(
            uow, expired_facility, _reserved >= count, now, beds_reserved=_reserved - count
        )
        referral = next(row[1] for row in rows if row[0] == expired_facility)
        await _announce(
            uow,
            expired_facility,
            CapacityChangeCause.RESERVATION_EXPIRED,
            now,
            referral_id=referral if count == 1 else None,
        )
    return len(rows)


async def release_held_reservations(uow: UnitOfWork, facility_id: UUID, now: datetime) -> int:
    """Release every bed held at a facility leaving referral (suspended or revoked); the
    status event that follows carries the new capacity."""
    released = await uow.session.exec(
        update(Reservation)
        .where(
            col(Reservation.facility_id) == facility_id,
            col(Reservation.state) == ReservationState.HELD.value,
        )
        .values(state=ReservationState.RELEASED.value, closed_at=now)
    )
    count = int(released.rowcount)
    if count:
        await _change_beds(
            uow, facility_id, _reserved >= count, now, beds_reserved=_reserved - count
        )
        await _announce(
            uow, facility_id, CapacityChangeCause.RESERVATION_RELEASED, now, event=False
        )
    return count


async def _close_reservation(
    uow: UnitOfWork, facility_id: UUID, referral_id: UUID, state: ReservationState, now: datetime
) -> bool:
    held = await _held_reservation(uow, facility_id, referral_id)
    if held is None:
        return False
    closed = await uow.session.exec(
        update(Reservation)
        .where(
            col(Reservation.id) == held.id,
            col(Reservation.state) == ReservationState.HELD.value,
        )
        .values(state=state.value, closed_at=now)
    )
    return bool(closed.rowcount == 1)


async def _held_reservation(
    uow: UnitOfWork, facility_id: UUID, referral_id: UUID
) -> Reservation | None:
    result = await uow.session.exec(
        select(Reservation)
        .where(
            col(Reservation.facility_id) == facility_id,
            col(Reservation.referral_id) == referral_id,
            col(Reservation.state) == ReservationState.HELD.value,
        )
        .execution_options(populate_existing=True)
    )
    return result.first()


def refusal_message(reason: PlacementRefusalReason) -> str:
    """The words of a refusal, for an API answer."""
    return {
        PlacementRefusalReason.FACILITY_FULL: "no free bed: every bed is occupied or reserved",
        PlacementRefusalReason.FACILITY_NOT_REGISTERED: (
            "the facility is not registered with MOSVY: it takes no referrals"
        ),
        PlacementRefusalReason.UNKNOWN_FACILITY: "no such facility in the registry",
    }[reason]
