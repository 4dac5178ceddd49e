"""Keyset paging by (opened at, id): the one way our lists page through records.

A page ends at the last row's ``(opened_at, id)``; the next page starts after it. Unlike
an offset, a row opened while a client pages never shifts the pages it has not read yet,
and a page costs one index range scan however deep the client has gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import and_, or_
from sqlmodel import col
from sqlmodel.sql.expression import SelectOfScalar

from nrm_runtime.errors import ProblemError
from nrm_runtime.http import PageQuery, encode_cursor


class Opened(Protocol):
    """A row that lists page through: when it was opened, and its id."""

    id: UUID
    opened_at: datetime


RowT = TypeVar("RowT", bound=Opened)


def position_of(cursor: dict[str, Any]) -> tuple[datetime, UUID]:
    """Where the previous page ended; 422 for a cursor this kind of list did not give out."""
    try:
        opened_at = datetime.fromisoformat(str(cursor["opened_at"]))
        row_id = UUID(str(cursor["id"]))
    except (KeyError, ValueError):
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor") from None
    if opened_at.tzinfo is None:
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return opened_at, row_id


def oldest_first(
    query: SelectOfScalar[RowT], table: type[RowT], page: PageQuery
) -> SelectOfScalar[RowT]:
    """``query`` ordered by (opened at, id), from after the page's cursor, one row more
    than the page (so that :func:`page_of` knows whether another page follows)."""
    opened_at, row_id = col(table.opened_at), col(table.id)
    query = query.order_by(opened_at, row_id)
    if page.cursor is not None:
        after_time, after_id = position_of(page.cursor)
        query = query.where(
            or_(opened_at > after_time, and_(opened_at == after_time, row_id > after_id))
        )
    return query.limit(page.limit + 1)


def page_of(rows: Sequence[RowT], page: PageQuery) -> tuple[list[RowT], str | None]:
    """The rows of the page and the cursor of the next one (None on the last page)."""
    if len(rows) <= page.limit:
        return list(rows), None
    kept = list(rows[: page.limit])
    last = kept[-1]
    return kept, encode_cursor({"opened_at": last.opened_at.isoformat(), "id": str(last.id)})
