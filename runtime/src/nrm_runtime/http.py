"""What every service's HTTP API shares: request base model, paging, dependencies."""

from __future__ import annotations

import base64
import json
import re
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from nrm_runtime.database import Database
from nrm_runtime.errors import ProblemError
from nrm_runtime.text import (
    mark_plain_strings,
    refuse_control_characters,
    refuse_text_longer_than_sent,
)

T = TypeVar("T")


class RequestModel(BaseModel):
    """A request body: unknown fields are refused (422 naming the field), not ignored,
    and so is a control character in any text of it (:mod:`nrm_runtime.text`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _length_as_sent(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields[info.field_name] if info.field_name else None
        if field is None:
            return value
        return refuse_text_longer_than_sent(value, field.annotation, field.metadata)

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


_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value: object) -> object:
    # Pydantic would read the number 0, or the text "0" (a query string's), as 1970-01-01:
    # a date must be written as one, as the schema's `format: date` says.
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("a date must be an ISO 8601 string (YYYY-MM-DD)")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
"""A calendar date, accepted only as ISO 8601 text."""


def _integral_number(value: object) -> object:
    # The OpenAPI 3.1 schema (JSON Schema 2020-12) counts 3.0 as an integer, so a client
    # may send it; pydantic's strict int would refuse it. Text and booleans stay refused.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL_FLOAT = BeforeValidator(_integral_number)
"""Metadata after a ``StrictInt`` and its bounds (``Annotated[StrictInt, Field(ge=0),
INTEGRAL_FLOAT]``): accepts ``3.0`` as ``3``, never text (``"3"``) or a boolean. The
bounds go before it: after it, in an optional field, pydantic would write them as
``ge``/``le`` (no JSON Schema keywords)."""


# What ``encode_cursor`` writes: stated in the schema, so that a client sees the format;
# which values are valid (only those the list gave out) the schema cannot say.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"


class Page(BaseModel, Generic[T]):
    """One page of a list, newest last; ``next_cursor`` fetches the following page."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, pattern=CURSOR_PATTERN, description="Opaque; pass as `cursor`."
    )


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
    cursor: Annotated[
        str | None,
        Query(
            max_length=500,
            pattern=CURSOR_PATTERN,
            description="Opaque (URL-safe base64): a `next_cursor` of this list, as given. "
            "Any other value is refused: 422 naming `cursor`.",
        ),
    ] = None,
) -> PageQuery:
    return PageQuery(limit=limit, cursor=decode_cursor(cursor))


PageDep = Annotated[PageQuery, Depends(_page_query)]


def _database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(_database)]
