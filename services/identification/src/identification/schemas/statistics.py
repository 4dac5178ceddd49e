"""What ``GET /statistics/victims`` is asked and answers: counts only."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field

from identification.domain.decisions import CaseStatus
from identification.domain.statistics import Dimension, Period
from nrm_contracts.events.identification import AgeBand, ExploitationType, Sex


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
