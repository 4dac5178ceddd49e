"""Referral cases as the coordination reads them."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlmodel import and_, col, or_, select

from nrm_runtime.database import Database
from nrm_runtime.errors import NotFound
from nrm_runtime.http import Page, encode_cursor
from referral.schemas.cases import ReferralCasePublic
from referral.store import ReferralCase


async def referral_cases(
    database: Database,
    limit: int,
    after: tuple[datetime, UUID] | None,
    identification_case_id: UUID | None,
) -> Page[ReferralCasePublic]:
    """Referral cases, oldest first, after the position ``after`` (opened at, id)."""
    query = select(ReferralCase).order_by(col(ReferralCase.opened_at), col(ReferralCase.id))
    if identification_case_id is not None:
        query = query.where(col(ReferralCase.identification_case_id) == identification_case_id)
    if after is not None:
        after_time, after_id = after
        query = query.where(
            or_(
                col(ReferralCase.opened_at) > after_time,
                and_(col(ReferralCase.opened_at) == after_time, col(ReferralCase.id) > after_id),
            )
        )
    async with database.session() as session:
        cases = list((await session.exec(query.limit(limit + 1))).all())
    next_cursor = None
    if len(cases) > limit:
        cases = cases[:limit]
        last = cases[-1]
        next_cursor = encode_cursor({"opened_at": last.opened_at.isoformat(), "id": str(last.id)})
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
