"""The review of the person index, for the Competent Authority (MOSVY): candidate pairs
with their evidence, confirm, reject; persons with their records; unlink and link back."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, status

from identification.access import INDEX_IDS, INDEX_LIST, INDEX_PERSON, is_competent_authority
from identification.context import ContextDep
from identification.person_index import review as person_review
from identification.person_index.schemas import (
    LinkRequest,
    PersonHistory,
    PersonIndexEntry,
    RecordRef,
    ReviewPairDetail,
    ReviewPairPublic,
    ReviewStatusName,
    UnlinkResult,
)
from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep

router = APIRouter(prefix="/persons", tags=["persons"])


def _reviewer(
    principal: Annotated[Principal, require_roles(Role.COMPETENT_AUTHORITY)], context: ContextDep
) -> Principal:
    if not is_competent_authority(principal, context.settings.competent_authority_organisations):
        raise ProblemError(403, "forbidden", "the Competent Authority reviews the person index")
    return principal


Reviewer = Annotated[Principal, Depends(_reviewer)]


@router.get(
    "/review-pairs",
    response_model=Page[ReviewPairPublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=INDEX_LIST,
)
async def list_review_pairs(
    database: DatabaseDep,
    principal: Reviewer,
    page: PageDep,
    status_: Annotated[ReviewStatusName, Query(alias="status")] = ReviewStatusName.OPEN,
) -> Page[ReviewPairPublic]:
    """Candidate pairs with their evidence (levels and weights, no names), best first."""
    items, next_cursor = await person_review.list_pairs(database, status_, page)
    return Page(items=items, next_cursor=next_cursor)


@router.get(
    "/review-pairs/{pair_id}",
    response_model=ReviewPairDetail,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=INDEX_PERSON,
)
async def get_review_pair(
    pair_id: UUID, database: DatabaseDep, principal: Reviewer, context: ContextDep
) -> ReviewPairDetail:
    """A pair with both records' person fields side by side (an audited read)."""
    return await person_review.pair_detail(database, context.keys, principal, pair_id)


@router.post(
    "/review-pairs/{pair_id}/confirm",
    response_model=ReviewPairPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=INDEX_PERSON,
)
async def confirm_review_pair(
    pair_id: UUID, database: DatabaseDep, principal: Reviewer, context: ContextDep
) -> ReviewPairPublic:
    """The two records are one person: their persons are merged (undo: unlink)."""
    return await person_review.confirm(database, principal, pair_id, context.clock())


@router.post(
    "/review-pairs/{pair_id}/reject",
    response_model=ReviewPairPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=INDEX_PERSON,
)
async def reject_review_pair(
    pair_id: UUID, database: DatabaseDep, principal: Reviewer, context: ContextDep
) -> ReviewPairPublic:
    """The two records are different persons."""
    return await person_review.reject(database, principal, pair_id, context.clock())


@router.get(
    "/{person_id}",
    response_model=PersonIndexEntry,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=INDEX_PERSON,
)
async def get_person(
    person_id: UUID, database: DatabaseDep, principal: Reviewer, context: ContextDep
) -> PersonIndexEntry:
    """A person and every agency's record of them (an audited read)."""
    return await person_review.person_entry(database, context.keys, principal, person_id)


@router.get(
    "/{person_id}/history",
    response_model=PersonHistory,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=INDEX_IDS,
)
async def get_person_history(
    person_id: UUID, database: DatabaseDep, principal: Reviewer
) -> PersonHistory:
    """Every link, merge and unlink that involved the person, oldest first (ids only)."""
    return await person_review.history(database, person_id)


@router.post(
    "/{person_id}/records/{screening_id}/unlink",
    response_model=UnlinkResult,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=INDEX_PERSON,
)
async def unlink_record(
    person_id: UUID,
    screening_id: UUID,
    database: DatabaseDep,
    principal: Reviewer,
    context: ContextDep,
) -> UnlinkResult:
    """A wrong link undone: the record becomes a person of its own."""
    return await person_review.unlink(database, principal, person_id, screening_id, context.clock())


@router.post(
    "/{person_id}/records",
    status_code=status.HTTP_201_CREATED,
    response_model=RecordRef,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=INDEX_PERSON,
)
async def link_record(
    person_id: UUID,
    body: LinkRequest,
    database: DatabaseDep,
    principal: Reviewer,
    context: ContextDep,
) -> RecordRef:
    """Put a record under this person by hand (undoes an unlink)."""
    return await person_review.link(
        database, principal, person_id, body.screening_id, context.clock()
    )
