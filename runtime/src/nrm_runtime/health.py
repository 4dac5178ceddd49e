"""``/healthz`` (alive), ``/readyz`` (can serve: database, broker, consumers), ``/metrics``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

Check = Callable[[], Awaitable[bool]]
Details = Callable[[], dict[str, Any]]


class HealthReport(BaseModel):
    status: str
    checks: dict[str, bool]
    # What an operator should know even when every check passes (e.g. weak topics).
    details: dict[str, Any] = {}


def health_router(
    *,
    liveness: dict[str, Check],
    readiness: dict[str, Check],
    readiness_details: Details | None = None,
) -> APIRouter:
    """Routes that need no token: probes and scrapers have none."""
    router = APIRouter(tags=["operations"])

    async def _report(checks: dict[str, Check], details: Details | None = None) -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        healthy = all(results.values())
        report = HealthReport(
            status="ok" if healthy else "unavailable",
            checks=results,
            details=details() if details else {},
        )
        return JSONResponse(report.model_dump(), status_code=200 if healthy else 503)

    @router.get("/healthz", response_model=HealthReport, responses={503: {"model": HealthReport}})
    async def healthz() -> JSONResponse:
        """The process is alive and its consumers are making progress."""
        return await _report(liveness)

    @router.get("/readyz", response_model=HealthReport, responses={503: {"model": HealthReport}})
    async def readyz() -> JSONResponse:
        """The service can do its work: database and broker reachable, consumers running,
        the outbox moving."""
        return await _report(readiness, readiness_details)

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
    )
    async def metrics(request: Request) -> Response:
        """Prometheus metrics of this service."""
        return Response(
            generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
        )

    return router
