"""The step clocks in one state, earliest due first: the missed ones are the escalation
list."""

from __future__ import annotations

from sqlmodel import col, select

from nrm_runtime.database import Database
from nrm_runtime.errors import ProblemError
from nrm_runtime.http import Page, PageQuery, encode_cursor
from repatriation.schemas.deadlines import DeadlinePublic
from repatriation.store import ClockState, StepClock


async def list_deadlines(
    database: Database, page: PageQuery, state: ClockState
) -> Page[DeadlinePublic]:
    query = (
        select(StepClock)
        .where(col(StepClock.state) == state)
        .order_by(col(StepClock.due_on), col(StepClock.id))
    )
    offset = _offset(page.cursor)
    async with database.session() as session:
        clocks = list((await session.exec(query.offset(offset).limit(page.limit + 1))).all())
    next_cursor = None
    if len(clocks) > page.limit:
        clocks = clocks[: page.limit]
        next_cursor = encode_cursor({"offset": offset + page.limit})
    return Page(
        items=[DeadlinePublic.model_validate(clock, from_attributes=True) for clock in clocks],
        next_cursor=next_cursor,
    )


def _offset(cursor: dict[str, object] | None) -> int:
    if cursor is None:
        return 0
    offset = cursor.get("offset")
    if not isinstance(offset, int) or offset < 0:
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return offset
