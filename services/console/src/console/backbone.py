"""The four services, called with the signed-in user's token.

The console decides nothing about who may see what: each service applies its own
policies to the user's token (404 for what one may not see, property-level views). An
answer the console cannot use becomes :class:`ServiceError`; a 422's ``field`` is kept,
so that the page can show the error next to the form field it names.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx

from console.settings import ConsoleSettings

log = logging.getLogger(__name__)


@dataclass
class ServiceError(Exception):
    """A service refused or failed: its status, error code and, for a 422, the field."""

    status: int
    code: str
    message: str
    field: str | None = None


class SessionExpired(Exception):
    """The service refused the user's token (401): the user signs in again."""


class Backbone:
    """One HTTP client for all four services (connection pooling across requests)."""

    def __init__(
        self, settings: ConsoleSettings, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.urls = {
            "identification": settings.identification_url.rstrip("/"),
            "referral": settings.referral_url.rstrip("/"),
            "shelter-registry": settings.shelter_registry_url.rstrip("/"),
            "repatriation": settings.repatriation_url.rstrip("/"),
        }
        self._client = httpx.AsyncClient(
            timeout=settings.service_timeout_seconds, transport=transport
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def call(
        self,
        token: str,
        method: str,
        service: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """The service's JSON answer; :class:`ServiceError` or :class:`SessionExpired`."""
        try:
            answer = await self._client.request(
                method,
                f"{self.urls[service]}{path}",
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
        except httpx.HTTPError as failure:
            # The type only: no URL (it may hold an id), no body.
            log.warning(
                "service unreachable", extra={"service": service, "error": type(failure).__name__}
            )
            raise ServiceError(503, "service_unavailable", "service unavailable") from None
        if answer.status_code == 401:
            raise SessionExpired
        if answer.status_code >= 400:
            raise _error_of(answer)
        return answer.json() if answer.content else None

    async def get(self, token: str, service: str, path: str, **params: str) -> Any:
        return await self.call(token, "GET", service, path, params=params or None)

    async def post(self, token: str, service: str, path: str, body: Any = None) -> Any:
        return await self.call(token, "POST", service, path, json=body)

    async def put(self, token: str, service: str, path: str, body: Any = None) -> Any:
        return await self.call(token, "PUT", service, path, json=body)


def _error_of(answer: httpx.Response) -> ServiceError:
    try:
        detail = answer.json()["error"]
        return ServiceError(
            answer.status_code, str(detail["code"]), str(detail["message"]), detail.get("field")
        )
    except (ValueError, KeyError, TypeError):
        return ServiceError(answer.status_code, "unexpected_answer", "unexpected answer")
