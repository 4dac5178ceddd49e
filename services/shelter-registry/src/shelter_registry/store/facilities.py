"""The reads every part of the registry shares: a facility and its organisation."""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.errors import NotFound
from shelter_registry.store.tables import Facility, Organisation


async def load_facility(session: AsyncSession, facility_id: UUID) -> Facility:
    """The facility as stored now (never a stale copy from the session); 404 if none."""
    facility = await session.get(Facility, facility_id, populate_existing=True)
    if facility is None:
        raise NotFound("facility")
    return facility


async def load_organisation(session: AsyncSession, organisation_id: str) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound("organisation")
    return organisation
