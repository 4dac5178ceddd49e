"""Referral's own read model of the shelter registry, built from the registry's events.

Every facility event carries the facility's whole public state and a ``state_version``;
the newest version wins, so applying the topic again, in any order, with duplicates,
gives the same model: the directory is rebuilt by replaying the topic into an empty
table (:func:`replay`).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts import Envelope
from nrm_contracts.events.shelter_registry import FacilityStateEvent
from nrm_runtime.database import Database
from referral.store import FacilityView


def _joined(values: Iterable[str]) -> str:
    return ",".join(sorted(str(value) for value in values))


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
