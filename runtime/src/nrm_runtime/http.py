"""What every service's HTTP API shares: request base model, paging, dependencies."""

from __future__ import annotations

import base64
import json
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from nrm_runtime.database import Database
from nrm_runtime.errors import ProblemError
from nrm_runtime.text import mark_plain_strings, refuse_control_characters

T = TypeVar("T")


class RequestModel(BaseModel):
    """A request body: unknown fields are refused (422 naming the field), not ignored,
    and so is a control character in any text of it (:mod:`nrm_runtime.text`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        return refuse_control_characters(value)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        mark_plain_strings(schema)
        return schema


def invalid_field(field: str, message: str) -> PydanticCustomError:
    """Raise it from a request model's cross-field rule to blame one field by its path.

    Pydantic places a model validator's error on the whole model; this names the field
    the client must change (the 422 answer's ``field``).
    """
    return PydanticCustomError("invalid_field", message, {"field": field})


def _iso_date_only(value: object) -> object:
    # Pydantic would read the number 0 as 1970-01-01: a date must be written as one.
    if isinstance(value, date | str):
        return value
    raise ValueError("a date must be an ISO 8601 string (YYYY-MM-DD)")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
"""A calendar date, accepted only as ISO 8601 text."""


class Page(BaseModel, Generic[T]):
    """One page of a list, newest last; ``next_cursor`` fetches the following page."""

    items: list[T]
    next_cursor: str | None = Field(default=None, description="Opaque; pass as `cursor`.")


def encode_cursor(position: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(position, default=str).encode()).decode()


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor") from None
    if not isinstance(position, dict):
        raise ProblemError(422, "invalid_input", "malformed cursor", field="cursor")
    return position


class PageQuery(BaseModel):
    limit: int
    cursor: dict[str, Any] | None


def _page_query(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page")] = 50,
    cursor: Annotated[str | None, Query(max_length=500, description="From `next_cursor`")] = None,
) -> PageQuery:
    return PageQuery(limit=limit, cursor=decode_cursor(cursor))


PageDep = Annotated[PageQuery, Depends(_page_query)]


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(_database)]
