"""Referral's HTTP routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from sqlmodel import and_, col, or_, select

from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep, Page, PageDep, encode_cursor
from referral.access import COORDINATION_CASE, COORDINATION_LIST, Coordinator
from referral.models import ReferralCasePublic
from referral.store import ReferralCase

router = APIRouter(tags=["referral cases"])


@router.get(
    "/referral-cases",
    response_model=Page[ReferralCasePublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=COORDINATION_LIST,
)
async def list_referral_cases(
    database: DatabaseDep,
    principal: Coordinator,
    page: PageDep,
    identification_case_id: Annotated[
        UUID | None,
        Query(description="Only the referral case opened for this identification case"),
    ] = None,
) -> Page[ReferralCasePublic]:
    """Referral cases, oldest first; with `identification_case_id`, the one opened for that
    identification case (an empty page until identification's decision has reached
    referral)."""
    query = select(ReferralCase).order_by(col(ReferralCase.opened_at), col(ReferralCase.id))
    if identification_case_id is not None:
        query = query.where(col(ReferralCase.identification_case_id) == identification_case_id)
    if page.cursor is not None:
        after_time, after_id = _position(page.cursor)
        query = query.where(
            or_(
                col(ReferralCase.opened_at) > after_time,
                and_(col(ReferralCase.opened_at) == after_time, col(ReferralCase.id) > after_id),
            )
        )
    async with database.session() as session:
        cases = list((await session.exec(query.limit(page.limit + 1))).all())
    next_cursor = None
    if len(cases) > page.limit:
        cases = cases[: page.limit]
        last = cases[-1]
        next_cursor = encode_cursor({"opened_at": last.opened_at.isoformat(), "id": str(last.id)})
    return Page(
        items=[ReferralCasePublic.model_validate(case, from_attributes=True) for case in cases],
        next_cursor=next_cursor,
    )


def _position(cursor: dict[str, object]) -> tuple[datetime, UUID]:
    """Where the previous page ended; 422 for a cursor this list did not give out."""
    try:
        opened_at = datetime.fromisoformat(str(cursor["opened_at"]))
        case_id = UUID(str(cursor["id"]))
    except (KeyError, ValueError):
        opened_at = None
    if opened_at is None or opened_at.tzinfo is None:
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return opened_at, case_id


@router.get(
    "/referral-cases/{case_id}",
    response_model=ReferralCasePublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=COORDINATION_CASE,
)
async def get_referral_case(
    case_id: UUID, database: DatabaseDep, principal: Coordinator
) -> ReferralCasePublic:
    """One referral case."""
    async with database.session() as session:
        case = await session.get(ReferralCase, case_id)
    if case is None:
        raise NotFound("referral case")
    return ReferralCasePublic.model_validate(case, from_attributes=True)
