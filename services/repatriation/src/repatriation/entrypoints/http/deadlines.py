"""The deadlines of every case: the step clocks, by default the missed ones (the
escalation list)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep
from nrm_runtime.policy import Objects, policy
from repatriation.access import OFFICER_ROLES, Officer
from repatriation.entrypoints.http.cases import MINISTRY
from repatriation.schemas.deadlines import DeadlinePublic
from repatriation.store import ClockState
from repatriation.views.deadlines import list_deadlines as list_deadline_page

router = APIRouter(tags=["repatriation cases"])


@router.get(
    "/deadlines",
    response_model=Page[DeadlinePublic],
    responses=error_responses(401, 403, 422),
    tags=["deadlines"],
    openapi_extra=policy(*OFFICER_ROLES, objects=Objects.NONE, organisation_types=MINISTRY),
)
async def list_deadlines(
    database: DatabaseDep,
    principal: Officer,
    page: PageDep,
    state: Annotated[ClockState, Query(description="`missed`: the escalation list")] = (
        ClockState.MISSED
    ),
) -> Page[DeadlinePublic]:
    """Step clocks in one state, earliest due first: by default the missed ones."""
    return await list_deadline_page(database, page, state)
