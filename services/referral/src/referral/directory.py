"""Referral's own read model of the shelter registry, built from the registry's events.

Every facility event carries the facility's whole public state and a ``state_version``;
the newest version wins, so applying the topic again, in any order, with duplicates,
gives the same model: the directory is rebuilt by replaying the topic into an empty
table (:func:`replay`).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts import Envelope
from nrm_contracts.events.shelter_registry import (
    CapacityChanged,
    FacilityRegistered,
    FacilityStateEvent,
    FacilityStatusChanged,
    FacilityUpdated,
)
from nrm_runtime.consumer import Handler
from nrm_runtime.database import Database, UnitOfWork
from referral.matching import Facility
from referral.store import FacilityView


def _joined(values: Iterable[str]) -> str:
    return ",".join(sorted(str(value) for value in values))


def _split(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(",") if part)


async def apply_facility_state(session: AsyncSession, event: FacilityStateEvent) -> None:
    """Keep ``event``'s state unless a newer version is already known."""
    known = await session.get(FacilityView, event.facility_id)
    if known is not None and known.state_version >= event.state_version:
        return
    view = known or FacilityView(facility_id=event.facility_id)  # type: ignore[call-arg]
    view.state_version = event.state_version
    view.organisation_id = event.organisation_id
    view.name = event.name
    view.facility_type = event.facility_type
    view.services = _joined(event.services)
    view.sexes = _joined(event.eligibility.sexes)
    view.min_age = event.eligibility.min_age
    view.max_age = event.eligibility.max_age
    view.exploitation_types = _joined(event.eligibility.exploitation_types)
    view.nationalities = _joined(event.eligibility.nationalities)
    view.languages = _joined(event.languages)
    view.province_code = event.location.province_code
    view.offered_for_referral = event.registration.offered_for_referral
    view.beds_total = event.capacity.beds_total
    view.beds_occupied = event.capacity.beds_occupied
    view.beds_reserved = event.capacity.beds_reserved
    view.beds_free = event.capacity.beds_free
    view.changed_at = event.changed_at
    session.add(view)


async def _on_facility_event(event: FacilityStateEvent, uow: UnitOfWork) -> None:
    await apply_facility_state(uow.session, event)


DIRECTORY_HANDLERS: dict[type, Handler] = {
    FacilityRegistered: _on_facility_event,
    FacilityUpdated: _on_facility_event,
    FacilityStatusChanged: _on_facility_event,
    CapacityChanged: _on_facility_event,
}


async def replay(database: Database, envelopes: Iterable[Envelope]) -> int:
    """Rebuild the directory from the registry's events: empty it, apply them all."""
    applied = 0
    async with database.unit_of_work() as uow:
        await uow.session.exec(delete(FacilityView))
        for envelope in envelopes:
            if isinstance(envelope.data, FacilityStateEvent):
                await apply_facility_state(uow.session, envelope.data)
                await uow.session.flush()
                applied += 1
        await uow.commit()
    return applied


def as_facility(view: FacilityView) -> Facility:
    return Facility(
        facility_id=str(view.facility_id),
        organisation_id=view.organisation_id,
        name=view.name,
        facility_type=view.facility_type,
        services=_split(view.services),
        sexes=_split(view.sexes),
        min_age=view.min_age,
        max_age=view.max_age,
        exploitation_types=_split(view.exploitation_types),
        nationalities=_split(view.nationalities),
        languages=_split(view.languages),
        province_code=view.province_code,
        offered_for_referral=view.offered_for_referral,
        beds_free=view.beds_free,
    )


async def all_facilities(session: AsyncSession) -> list[Facility]:
    views = (await session.exec(select(FacilityView).order_by(col(FacilityView.facility_id)))).all()
    return [as_facility(view) for view in views]


async def facility(session: AsyncSession, facility_id: UUID) -> FacilityView | None:
    return await session.get(FacilityView, facility_id)


async def reception_facility(
    session: AsyncSession, organisation_id: str, province_code: str | None
) -> FacilityView | None:
    """The facility of the receiving organisation, in the reception province if given."""
    query = select(FacilityView).where(col(FacilityView.organisation_id) == organisation_id)
    views = list((await session.exec(query.order_by(col(FacilityView.facility_id)))).all())
    in_province = [v for v in views if province_code is None or v.province_code == province_code]
    chosen = in_province or views
    return chosen[0] if chosen else None
