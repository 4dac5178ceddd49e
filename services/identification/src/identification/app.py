"""Wires the identification service: ``uvicorn identification.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from identification.context import IdentificationContext
from identification.domain.deadlines import DeadlinePolicy
from identification.entrypoints.events import SUBSCRIPTIONS
from identification.entrypoints.http import ROUTERS
from identification.entrypoints.jobs import background_jobs
from identification.settings import IdentificationSettings
from identification.store import tables
from nrm_contracts import Topic
from nrm_runtime.audit import audit_router
from nrm_runtime.clock import Clock, system_clock, today_in_cambodia
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.reference_routes import reference_router
from nrm_runtime.service import ServiceDefinition, create_service_app
from nrm_runtime.working_days import cambodian_calendar, check_covers_this_year


def create_app(
    settings: IdentificationSettings | None = None, *, clock: Clock = system_clock
) -> FastAPI:
    """The identification app; ``clock`` is replaced by a fake one in tests."""
    settings = settings or IdentificationSettings()
    if settings.field_keys_file is None:
        raise ValueError("identification seals personal data: set IDENTIFICATION_FIELD_KEYS_FILE")
    calendar = cambodian_calendar()
    policy = DeadlinePolicy(
        calendar=calendar,
        preliminary_working_days=settings.preliminary_decision_working_days,
        final_days=settings.final_decision_days,
        recovery_days=settings.recovery_period_days,
    )
    context = IdentificationContext(settings, policy, clock, KeyRing.load(settings.field_keys_file))

    async def calendar_covers_this_year(_: Database) -> None:
        check_covers_this_year(calendar, today_in_cambodia(clock))

    app = create_service_app(
        ServiceDefinition(
            title="NRM identification",
            description="Standard screening of presumed victims of trafficking by any first "
            "responder; decisions by the Competent Authority, on the clock; consent; the "
            "non-punishment flag.",
            settings=settings,
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.IDENTIFICATION,
            routers=[*ROUTERS, audit_router(), reference_router],
            on_start=[calendar_covers_this_year],
            # The whereabouts read model of the prosecution's status view.
            subscriptions=SUBSCRIPTIONS,
            background=background_jobs(context),
        )
    )
    app.state.identification = context
    return app
