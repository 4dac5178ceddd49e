"""Identification's HTTP routes: parse, authorise, call a use case, shape the answer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, status

from identification import usecases
from identification.models import ScreeningCreate, ScreeningPublic
from identification.store import Screening
from nrm_runtime.auth import OrganisationType, Principal, Role, require_roles
from nrm_runtime.errors import NotFound, error_responses
from nrm_runtime.http import DatabaseDep

router = APIRouter(tags=["screenings"])

Screener = Annotated[Principal, require_roles(Role.SCREENER)]
ScreeningReader = Annotated[Principal, require_roles(Role.SCREENER, Role.COMPETENT_AUTHORITY)]


@router.post(
    "/screenings",
    status_code=status.HTTP_201_CREATED,
    response_model=ScreeningPublic,
    responses=error_responses(401, 403, 422),
)
async def record_screening(
    form: ScreeningCreate, database: DatabaseDep, principal: Screener
) -> ScreeningPublic:
    """Record a first responder's screening; it opens an identification case."""
    return await usecases.record_screening(database, form, principal)


@router.get(
    "/screenings/{screening_id}",
    response_model=ScreeningPublic,
    responses=error_responses(401, 403, 404, 422),
)
async def get_screening(
    screening_id: UUID, database: DatabaseDep, principal: ScreeningReader
) -> ScreeningPublic:
    """A screening, to the organisation that recorded it or to the Competent Authority."""
    async with database.session() as session:
        screening = await session.get(Screening, screening_id)
    if screening is None or not _may_read(principal, screening):
        raise NotFound("screening")  # 404, not 403: do not confirm that it exists
    return usecases.to_public(screening)


def _may_read(principal: Principal, screening: Screening) -> bool:
    if screening.reporting_organisation == principal.organisation:
        return True
    return (
        Role.COMPETENT_AUTHORITY in principal.roles
        and principal.organisation_type is OrganisationType.MINISTRY
    )
