"""Wires the repatriation service: ``uvicorn repatriation.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.audit import audit_router
from nrm_runtime.clock import Clock, today_in_cambodia
from nrm_runtime.database import Database
from nrm_runtime.reference_routes import reference_router
from nrm_runtime.service import ServiceDefinition, create_service_app
from nrm_runtime.working_days import check_covers_this_year
from repatriation.context import Repatriation
from repatriation.entrypoints.events import SUBSCRIPTIONS
from repatriation.entrypoints.http import ROUTERS
from repatriation.entrypoints.jobs import background_jobs
from repatriation.settings import RepatriationSettings
from repatriation.store import tables
from repatriation.usecases.delivery import OutboundDispatcher


def create_app(
    settings: RepatriationSettings | None = None,
    *,
    clock: Clock | None = None,
    liaison_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The service; refuses to start with an SOP template that does not validate.

    ``clock`` and ``liaison_transport`` (how messages reach the counterparts) default to
    the real ones; tests pass their own.
    """
    settings = settings or RepatriationSettings()
    context = Repatriation.load(settings, clock)
    dispatcher = OutboundDispatcher(context, liaison_transport)

    async def calendar_covers_this_year(_: Database) -> None:
        check_covers_this_year(context.calendar, today_in_cambodia(context.clock))

    app = create_service_app(
        ServiceDefinition(
            title="NRM repatriation",
            description="Cross-border cases run by bilateral SOPs as data, "
            "with the counterpart agencies' liaison API.",
            settings=settings,
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.REPATRIATION,
            routers=[*ROUTERS, audit_router(), reference_router],
            subscriptions=SUBSCRIPTIONS,
            on_start=[calendar_covers_this_year],
            background=background_jobs(context, dispatcher),
        )
    )
    app.state.repatriation = context
    app.state.dispatcher = dispatcher
    return app
