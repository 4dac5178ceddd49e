"""Keyset paging: every row once, in order, however the rows share a moment."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import Field, SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.errors import ProblemError
from nrm_runtime.http import PageQuery, decode_cursor, encode_cursor
from nrm_runtime.paging import oldest_first, page_of, position_of


class PagedRow(SQLModel, table=True):
    __tablename__ = "paged_row"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    opened_at: datetime
    kind: str


async def test_pages_give_every_row_once_in_order_even_when_moments_repeat(
    tmp_path: Path,
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'paging.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(SQLModel.metadata.create_all, tables=[PagedRow.__table__])
    start = datetime(2026, 12, 1, tzinfo=UTC)
    # Three rows share each moment: a page boundary falls inside a moment.
    rows = [
        PagedRow(opened_at=start + timedelta(minutes=index // 3), kind="a" if index % 2 else "b")
        for index in range(11)
    ]
    async with AsyncSession(engine) as session:
        session.add_all(rows)
        await session.commit()

        seen: list[uuid.UUID] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = PageQuery(limit=2, cursor=decode_cursor(cursor))
            found = (await session.exec(oldest_first(select(PagedRow), PagedRow, page))).all()
            items, cursor = page_of(found, page)
            seen += [item.id for item in items]
            pages += 1
            if cursor is None:
                break
        expected = sorted(rows, key=lambda row: (row.opened_at, row.id))
        assert seen == [row.id for row in expected]
        assert pages == 6

        # A filter composes with the paging.
        only_a = PageQuery(limit=50, cursor=None)
        found = (
            await session.exec(
                oldest_first(select(PagedRow).where(PagedRow.kind == "a"), PagedRow, only_a)
            )
        ).all()
        assert page_of(found, only_a)[0] == [row for row in expected if row.kind == "a"]
    await engine.dispose()


@pytest.mark.parametrize(
    "position",
    [
        {"id": str(uuid.uuid4())},
        {"opened_at": "2026-12-01T00:00:00", "id": str(uuid.uuid4())},  # no zone
        {"opened_at": "yesterday", "id": str(uuid.uuid4())},
        {"opened_at": "2026-12-01T00:00:00+00:00", "id": "not-an-id"},
    ],
)
def test_a_cursor_this_list_did_not_give_out_is_refused_naming_the_cursor(
    position: dict[str, str],
) -> None:
    with pytest.raises(ProblemError) as refused:
        position_of(decode_cursor(encode_cursor(position)) or {})
    assert (refused.value.status, refused.value.field) == (422, "cursor")
