"""``GET /statistics/victims``: the authoritative, de-duplicated count. Counts only: no
name, no id of a person or record ever leaves this route."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from identification.access import COUNTS, is_competent_authority
from identification.context import ContextDep
from identification.domain.decisions import CaseStatus
from identification.domain.statistics import Dimension, Period
from identification.schemas.screenings import ProvinceCode
from identification.schemas.statistics import StatisticsQuery, VictimStatistics
from identification.views import statistics
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
    return await statistics.victim_statistics(
        database,
        filters,
        group_by=group_by,
        period=period,
        min_cell=context.settings.statistics_min_cell,
    )
