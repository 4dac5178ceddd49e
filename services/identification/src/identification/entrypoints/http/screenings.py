"""Identification's screening routes: parse, authorise, call a use case, shape the answer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, status

from identification.access import NEW_SCREENING, SCREENING_READ, is_competent_authority
from identification.context import ContextDep
from identification.schemas.screenings import ScreeningCreate, ScreeningPublic
from identification.usecases import screenings as recording
from identification.views import screenings
from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep

router = APIRouter(tags=["screenings"])

Screener = Annotated[Principal, require_roles(Role.SCREENER)]
ScreeningReader = Annotated[Principal, require_roles(Role.SCREENER, Role.COMPETENT_AUTHORITY)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        description="Repeat it on a retry: the retry returns the first screening, no new case",
    ),
]


@router.post(
    "/screenings",
    status_code=status.HTTP_201_CREATED,
    response_model=ScreeningPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=NEW_SCREENING,
)
async def record_screening(
    form: ScreeningCreate,
    database: DatabaseDep,
    principal: Screener,
    context: ContextDep,
    idempotency_key: IdempotencyKey = None,
) -> ScreeningPublic:
    """Record a first responder's screening with its presumptive assessment; it opens an
    identification case, or joins the case named by ``case_id``."""
    return await recording.record_screening(
        database,
        form,
        principal,
        policy=context.policy,
        clock=context.clock,
        keys=context.keys,
        idempotency_key=idempotency_key,
    )


@router.get(
    "/screenings/{screening_id}",
    response_model=ScreeningPublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=SCREENING_READ,
)
async def get_screening(
    screening_id: UUID, database: DatabaseDep, principal: ScreeningReader, context: ContextDep
) -> ScreeningPublic:
    """A screening, to the organisation that recorded it or to the Competent Authority
    (the read is audited)."""
    return await screenings.visible_screening(
        database,
        screening_id,
        principal,
        context.keys,
        sees_all=is_competent_authority(
            principal, context.settings.competent_authority_organisations
        ),
    )
