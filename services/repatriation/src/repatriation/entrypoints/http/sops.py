"""The reference data of repatriation: the bilateral procedures (SOPs) loaded and the
border points they hand over at."""

from __future__ import annotations

from fastapi import APIRouter

from nrm_runtime.errors import error_responses
from nrm_runtime.policy import Objects, policy
from nrm_runtime.reference_routes import EVERY_ROLE, AnyRole
from repatriation.access import OFFICER_ROLES, Officer
from repatriation.context import RepatriationDep
from repatriation.entrypoints.http.cases import MINISTRY
from repatriation.schemas.sops import BorderPointPublic, SopSummary
from repatriation.views.sops import border_points, sop_summaries

router = APIRouter(tags=["repatriation cases"])


@router.get(
    "/sops",
    response_model=list[SopSummary],
    responses=error_responses(401, 403),
    tags=["sops"],
    openapi_extra=policy(*OFFICER_ROLES, objects=Objects.NONE, organisation_types=MINISTRY),
)
async def list_sops(context: RepatriationDep, principal: Officer) -> list[SopSummary]:
    """The bilateral procedures loaded, every version."""
    return sop_summaries(context)


@router.get(
    "/reference/border-points",
    response_model=list[BorderPointPublic],
    responses=error_responses(401, 403),
    tags=["reference"],
    openapi_extra=EVERY_ROLE,
)
async def list_border_points(
    context: RepatriationDep, principal: AnyRole
) -> list[BorderPointPublic]:
    """The border points the loaded procedures hand over at, by code: what a handover's
    `border_point` detail takes. A point named by several procedures is listed once."""
    return border_points(context)
