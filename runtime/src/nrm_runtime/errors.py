"""One error shape for every service: ``{"error": {"code", "message", "field"?}}``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """What every service answers on an error."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


class DomainError(Exception):
    """A rule of the domain refused what was asked. Use cases raise these and never an
    HTTP status: the runtime's handlers translate each kind to its status, once
    (``DOMAIN_STATUS``)."""

    code = "refused"

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or type(self).code
        self.field = field


class Invalid(DomainError):
    """The input breaks a rule that the request's schema alone cannot state; ``field``
    names the part of the request to blame."""

    code = "invalid_input"


class Conflict(DomainError):
    """The input is valid but the record's current state does not allow it."""

    code = "conflict"


class NotPermitted(DomainError):
    """The caller's role or organisation may not do this to this record."""

    code = "forbidden"


class NotFound(DomainError):
    """The record does not exist, or the caller may not know that it does (never
    :class:`NotPermitted` there: that would tell them it exists)."""

    code = "not_found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")


DOMAIN_STATUS: dict[type[DomainError], int] = {
    Invalid: 422,
    Conflict: 409,
    NotPermitted: 403,
    NotFound: 404,
}


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error: its kind's, or 409 for a bare refusal."""
    for kind in type(error).__mro__:
        if kind in DOMAIN_STATUS:
            return DOMAIN_STATUS[kind]
    return 409


class ProblemError(Exception):
    """An error the caller should see, with its HTTP status: for the HTTP layer itself
    (authentication, paging cursors); use cases raise a :class:`DomainError`."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, expired or invalid bearer token",
    403: "Your role may not do this",
    404: "Not found, or not yours to see",
    409: "Conflicts with the current state",
    413: "Request body too large",
    422: "Invalid input; `field` names the offending field",
    429: "Too many failed authentications with this token, or without a valid one from "
    "this address; see Retry-After",
    500: "Unexpected error (reported, without details)",
    503: "A dependency is unavailable",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route: each listed status documented with the error shape."""
    return {
        status: {"model": ErrorBody, "description": _DESCRIPTIONS[status]} for status in statuses
    }


def _body(code: str, message: str, field: str | None = None) -> dict[str, Any]:
    return ErrorBody(error=ErrorDetail(code=code, message=message, field=field)).model_dump(
        exclude_none=True
    )


def _field_of(error: Mapping[str, Any]) -> str | None:
    """The field a validation error is about, as the client named it (``person.sex``)."""
    hinted = (error.get("ctx") or {}).get("field")
    if hinted:
        return str(hinted)  # a cross-field rule that named the field to blame
    if error.get("type") == "json_invalid":
        return "body"  # the location is a character offset, not a field
    location = [str(part) for part in error.get("loc", ())]
    if location and location[0] in ("body", "query", "path", "header"):
        location = location[1:] or location
    return ".".join(location) or None


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with :class:`ErrorBody`."""

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(_body(exc.code, exc.message, exc.field), exc.status, headers=headers)

    @app.exception_handler(DomainError)
    async def _refused(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message, exc.field), status_of(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        return JSONResponse(_body("invalid_input", str(first.get("msg")), _field_of(first)), 422)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # The type only: an exception's text can quote the personal data it failed on.
        log.error("unhandled error", extra={"error": type(exc).__name__})
        return JSONResponse(_body("internal_error", "an unexpected error occurred"), 500)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body that is not JSON: bad input, like any other.
            return JSONResponse(_body("invalid_input", str(exc.detail), "body"), 422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = exc.headers
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": _allowed_methods(request)}
        return JSONResponse(_body(code, str(exc.detail)), exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> str:
    """Every method the path supports. Starlette's 405 names only the first route that
    matched the path, so a path with GET and POST routes would advertise one of them."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _scope = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return ", ".join(sorted(methods))
