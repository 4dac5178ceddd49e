"""Referral cases as the coordination reads them."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import col, select

from nrm_runtime.database import Database
from nrm_runtime.errors import NotFound
from nrm_runtime.http import Page, PageQuery
from nrm_runtime.paging import oldest_first, page_of
from referral.schemas.cases import ReferralCasePublic
from referral.store import ReferralCase


async def referral_cases(
    database: Database, page: PageQuery, identification_case_id: UUID | None
) -> Page[ReferralCasePublic]:
    """Referral cases, oldest first, from after the page's cursor."""
    query = select(ReferralCase)
    if identification_case_id is not None:
        query = query.where(col(ReferralCase.identification_case_id) == identification_case_id)
    async with database.session() as session:
        found = (await session.exec(oldest_first(query, ReferralCase, page))).all()
    cases, next_cursor = page_of(found, page)
    return Page(
        items=[ReferralCasePublic.model_validate(case, from_attributes=True) for case in cases],
        next_cursor=next_cursor,
    )


async def referral_case(database: Database, case_id: UUID) -> ReferralCasePublic:
    async with database.session() as session:
        case = await session.get(ReferralCase, case_id)
    if case is None:
        raise NotFound("referral case")
    return ReferralCasePublic.model_validate(case, from_attributes=True)
