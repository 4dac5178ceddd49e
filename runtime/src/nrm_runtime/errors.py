"""One error shape for every service: ``{"error": {"code", "message", "field"?}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    """What every service answers on an error."""

    model_config = ConfigDict(extra="forbid")

    error: ErrorDetail


class ProblemError(Exception):
    """An error the caller should see, with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field


class NotFound(ProblemError):
    """Also the answer when the caller may not know the record exists (never 403 there)."""

    def __init__(self, what: str) -> None:
        super().__init__(404, "not_found", f"{what} not found")


_DESCRIPTIONS = {
    400: "Malformed request",
    401: "Missing, expired or invalid bearer token",
    403: "Your role may not do this",
    404: "Not found, or not yours to see",
    409: "Conflicts with the current state",
    422: "Invalid input; `field` names the offending field",
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


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with :class:`ErrorBody`."""

    @app.exception_handler(ProblemError)
    async def _problem(_request: Request, exc: ProblemError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(_body(exc.code, exc.message, exc.field), exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        # ("body", "person", "sex") -> "person.sex": the field as the client named it.
        location = [str(part) for part in first.get("loc", ())]
        field = ".".join(location[1:]) if len(location) > 1 else (location[0] if location else None)
        return JSONResponse(_body("invalid_input", str(first.get("msg")), field), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's answer to a body that is not JSON: bad input, like any other.
            return JSONResponse(_body("invalid_input", str(exc.detail), "body"), 422)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_body(code, str(exc.detail)), exc.status_code, headers=exc.headers)
