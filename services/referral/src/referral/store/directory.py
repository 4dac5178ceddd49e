"""Reads of referral's directory of the registry's facilities, as matching knows a
facility (:mod:`referral.usecases.directory` keeps the directory)."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from referral.domain.matching import Facility
from referral.store.tables import FacilityView


def _split(value: str) -> frozenset[str]:
    return frozenset(part for part in value.split(",") if part)


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
