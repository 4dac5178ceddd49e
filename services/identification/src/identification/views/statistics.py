"""The authoritative, de-duplicated count of victims: each screening with its person
(or, while linking is pending, as a person of its own), tabulated with small cells
suppressed."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from identification.domain.statistics import (
    UNKNOWN,
    CountedRecord,
    Dimension,
    Period,
    Table,
    tabulate,
)
from identification.schemas.statistics import (
    CellPublic,
    CountPublic,
    StatisticsQuery,
    VictimStatistics,
)
from identification.store import IdentificationCase, PersonRecord, Screening
from nrm_runtime.database import Database


async def victim_statistics(
    database: Database,
    filters: StatisticsQuery,
    *,
    group_by: list[Dimension],
    period: Period,
    min_cell: int,
) -> VictimStatistics:
    """Unique persons and records matching ``filters``, grouped by ``group_by``."""
    async with database.session() as session:
        rows = await _counted_records(session, filters)
    table = tabulate(rows, group_by=group_by, period=period, min_cell=min_cell)
    return _public(table, group_by, period, min_cell)


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
