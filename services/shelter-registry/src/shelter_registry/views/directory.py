"""Reading the registry: the directory, the search for referral, the coverage report."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts.events.shelter_registry import RegistrationStatus
from nrm_runtime.database import Database
from nrm_runtime.errors import Invalid
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.http import Page, PageQuery, encode_cursor
from shelter_registry.domain import coverage, matching
from shelter_registry.domain.geography import geography
from shelter_registry.schemas.facilities import FacilityPublic
from shelter_registry.schemas.search import (
    CoverageCell,
    CoverageGap,
    CoverageReport,
    SearchResult,
    SearchResults,
)
from shelter_registry.store import Facility, Organisation
from shelter_registry.views.facilities import SeesWhereabouts, to_profile, to_public


async def _organisations(session: AsyncSession) -> dict[str, Organisation]:
    return {o.id: o for o in (await session.exec(select(Organisation))).all()}


async def _offered_facilities(session: AsyncSession) -> list[Facility]:
    query = select(Facility).where(col(Facility.status) == RegistrationStatus.REGISTERED.value)
    return list((await session.exec(query)).all())


async def search(
    database: Database,
    keys: KeyRing,
    criteria: matching.Criteria,
    limit: int,
    sees_whereabouts: SeesWhereabouts,
) -> SearchResults:
    """The registered facilities that meet ``criteria``, ranked, each with its reasons.
    A shelter's distance is withheld with its whereabouts: distances from chosen
    provinces would give its place away.

    The registry holds hundreds of facilities, not millions: they are assessed in memory,
    where every rule can say why it admitted a facility.
    """
    places = geography()
    if criteria.province_code is not None and not places.is_province(criteria.province_code):
        raise Invalid(f"unknown province code {criteria.province_code}", field="province")
    if criteria.only_in_province and criteria.province_code is None:
        raise Invalid("only_in_province needs the province", field="province")
    async with database.session() as session:
        facilities = await _offered_facilities(session)
        organisations = await _organisations(session)
    by_id = {facility.id: facility for facility in facilities}
    matches = matching.search([to_profile(f) for f in facilities], criteria, places)

    def result(m: matching.Match) -> SearchResult:
        facility = by_id[m.facility.id]
        seen = sees_whereabouts(facility)
        return SearchResult(
            facility=to_public(
                facility, organisations[facility.organisation_id], keys, whereabouts=seen
            ),
            fit=m.fit,
            distance_km=None if m.distance_km is None or not seen else round(m.distance_km, 1),
            reasons=m.reasons if seen else m.reasons_without_distance,
        )

    return SearchResults(items=[result(m) for m in matches[:limit]])


async def coverage_report(database: Database) -> CoverageReport:
    """Coverage by population group nationally and by province, with the gaps found."""
    async with database.session() as session:
        facilities = await _offered_facilities(session)
    places = geography()
    report = coverage.coverage([to_profile(f) for f in facilities], places)

    def cell(c: coverage.Cell) -> CoverageCell:
        return CoverageCell(
            group=c.group,
            province_code=c.province_code,
            province_name=places.name_of(c.province_code) if c.province_code else None,
            facilities=c.facilities,
            residential_facilities=c.residential_facilities,
            beds_total=c.beds_total,
            beds_free=c.beds_free,
            services=sorted(c.services),
        )

    return CoverageReport(
        national=[cell(c) for c in report.national],
        provinces=[cell(c) for c in report.provinces],
        gaps=[
            CoverageGap(
                kind=g.kind.value, group=g.group, province_code=g.province_code, message=g.message
            )
            for g in report.gaps
        ],
    )


async def directory_page(
    database: Database,
    keys: KeyRing,
    page: PageQuery,
    sees_whereabouts: SeesWhereabouts,
    *,
    status: RegistrationStatus | None,
    organisation_id: str | None,
) -> Page[FacilityPublic]:
    """Every facility in any status (MOSVY's queue of applications included), by id."""
    query = select(Facility).order_by(col(Facility.id))
    if status is not None:
        query = query.where(col(Facility.status) == status.value)
    if organisation_id is not None:
        query = query.where(col(Facility.organisation_id) == organisation_id)
    if page.cursor is not None:
        query = query.where(col(Facility.id) > _after(page.cursor))
    async with database.session() as session:
        facilities = list((await session.exec(query.limit(page.limit + 1))).all())
        organisations = await _organisations(session)
    next_cursor = None
    if len(facilities) > page.limit:
        facilities = facilities[: page.limit]
        next_cursor = encode_cursor({"id": str(facilities[-1].id)})
    return Page(
        items=[
            to_public(f, organisations[f.organisation_id], keys, whereabouts=sees_whereabouts(f))
            for f in facilities
        ],
        next_cursor=next_cursor,
    )


def _after(cursor: dict[str, object]) -> UUID:
    try:
        return UUID(str(cursor["id"]))
    except (KeyError, ValueError):
        raise Invalid("malformed cursor", field="cursor") from None
