"""``GET /statistics/victims``: the authoritative, de-duplicated count. Counts only: no
name, no id of a person or record ever leaves this route."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.access import COUNTS, is_competent_authority
from identification.context import ContextDep
from identification.decisions import CaseStatus
from identification.models import ProvinceCode
from identification.statistics import UNKNOWN, CountedRecord, Dimension, Period, Table, tabulate
from identification.store import IdentificationCase, PersonRecord, Screening
from nrm_contracts.events.identification import AgeBand, ExploitationType, Sex
from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, IsoDate

router = APIRouter(prefix="/statistics", tags=["statistics"])


def _reader(
    principal: Annotated[Principal, require_roles(Role.ANALYST, Role.COMPETENT_AUTHORITY)],
    context: ContextDep,
) -> Principal:
    if Role.ANALYST not in principal.roles and not is_competent_authority(
        principal, context.settings.competent_authority_organisations
    ):
        raise ProblemError(403, "forbidden", "for analysts and the Competent Authority")
    return principal


class CountPublic(BaseModel):
    records: int | None = Field(description="Records agencies made (null: suppressed)")
    persons: int | None = Field(description="Unique persons, de-duplicated (null: suppressed)")
    suppressed: bool = Field(description="Fewer persons than the minimum cell size")


class CellPublic(CountPublic):
    group: dict[str, str] = Field(description="The value of each grouping dimension")


class VictimStatistics(BaseModel):
    """Records and unique persons side by side. A person counts once per cell and once
    in the total, so cells may add up to more than the total: the total is authoritative."""

    group_by: list[Dimension]
    period: Period
    min_cell: int = Field(description="Cells with fewer persons are suppressed")
    total: CountPublic
    cells: list[CellPublic]


class StatisticsQuery(BaseModel):
    encountered_from: date | None
    encountered_to: date | None
    sex: Sex | None
    age_band: AgeBand | None
    nationality: str | None
    exploitation_type: ExploitationType | None
    agency: str | None
    province: str | None
    decision_stage: CaseStatus | None


def _query(
    encountered_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    encountered_to: Annotated[IsoDate | None, Query(alias="to")] = None,
    sex: Sex | None = None,
    age_band: AgeBand | None = None,
    nationality: Annotated[str | None, Query(pattern=r"^[A-Z]{3}$")] = None,
    exploitation_type: ExploitationType | None = None,
    agency: Annotated[str | None, Query(max_length=64)] = None,
    province: ProvinceCode | None = None,
    decision_stage: CaseStatus | None = None,
) -> StatisticsQuery:
    if encountered_from and encountered_to and encountered_to < encountered_from:
        raise ProblemError(422, "invalid_input", "the period ends before it starts", field="to")
    return StatisticsQuery(
        encountered_from=encountered_from,
        encountered_to=encountered_to,
        sex=sex,
        age_band=age_band,
        nationality=nationality,
        exploitation_type=exploitation_type,
        agency=agency,
        province=province,
        decision_stage=decision_stage,
    )


@router.get(
    "/victims",
    response_model=VictimStatistics,
    responses=error_responses(401, 403, 422),
    openapi_extra=COUNTS,
)
async def victim_statistics(
    database: DatabaseDep,
    principal: Annotated[Principal, Depends(_reader)],
    context: ContextDep,
    filters: Annotated[StatisticsQuery, Depends(_query)],
    group_by: Annotated[list[Dimension], Query(max_length=4)] = [],  # noqa: B006 - FastAPI
    period: Period = Period.YEAR,
) -> VictimStatistics:
    """Unique persons and records, filtered by the query, grouped by ``group_by``
    (repeatable; ``period`` at the granularity of ``period``)."""
    if len(set(group_by)) != len(group_by):
        raise ProblemError(422, "invalid_input", "each dimension once", field="group_by")
    async with database.session() as session:
        rows = await _counted_records(session, filters)
    table = tabulate(
        rows, group_by=group_by, period=period, min_cell=context.settings.statistics_min_cell
    )
    return _public(table, group_by, period, context.settings.statistics_min_cell)


async def _counted_records(session: AsyncSession, filters: StatisticsQuery) -> list[CountedRecord]:
    query = (
        select(PersonRecord.person_id, Screening, IdentificationCase.status)
        .select_from(Screening)
        # Outer: a screening recorded during a legacy import waits for its person (linking
        # pending); until linked it counts as a person of its own, never not at all.
        .outerjoin(PersonRecord, col(PersonRecord.screening_id) == col(Screening.id))
        # Outer: a legacy record (nrm import) has no case here; its stage is "unknown".
        .outerjoin(IdentificationCase, col(IdentificationCase.id) == col(Screening.case_id))
    )
    if filters.encountered_from is not None:
        query = query.where(col(Screening.encounter_date) >= filters.encountered_from)
    if filters.encountered_to is not None:
        query = query.where(col(Screening.encounter_date) <= filters.encountered_to)
    equalities = [
        (col(Screening.sex), filters.sex),
        (col(Screening.age_band), filters.age_band),
        (col(Screening.nationality), filters.nationality),
        (col(Screening.reporting_organisation), filters.agency),
        (col(Screening.province_code), filters.province),
        (col(IdentificationCase.status), filters.decision_stage),
    ]
    for column, value in equalities:
        if value is not None:
            query = query.where(column == value)
    rows = [
        CountedRecord(
            person_id=str(person_id) if person_id is not None else f"pending:{screening.id}",
            encounter_date=screening.encounter_date,
            sex=screening.sex,
            age_band=screening.age_band or "unknown",
            nationality=screening.nationality,
            purposes=screening.purposes,
            agency=screening.reporting_organisation,
            province=screening.province_code,
            decision_stage=status or UNKNOWN,
        )
        for person_id, screening, status in (await session.exec(query)).all()
    ]
    if filters.exploitation_type is None:
        return rows
    wanted = str(filters.exploitation_type)
    return [row for row in rows if wanted in row.values(Dimension.EXPLOITATION_TYPE, Period.YEAR)]


def _public(
    table: Table, group_by: list[Dimension], period: Period, min_cell: int
) -> VictimStatistics:
    return VictimStatistics(
        group_by=group_by,
        period=period,
        min_cell=min_cell,
        total=CountPublic(**vars(table.total)),
        cells=[CellPublic(group=group, **vars(count)) for group, count in table.cells],
    )
