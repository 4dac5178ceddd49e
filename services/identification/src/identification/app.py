"""Wires the identification service: ``uvicorn identification.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from identification.api import router as screening_router
from identification.case_api import router as case_router
from identification.context import IdentificationContext
from identification.deadline_watcher import watch_deadlines
from identification.deadlines import DeadlinePolicy
from identification.pending_linker import watch_pending
from identification.persons_api import router as persons_router
from identification.proceedings.api import router as proceedings_router
from identification.proceedings.whereabouts import CONSUMER_GROUP, HANDLERS
from identification.settings import IdentificationSettings
from identification.statistics_api import router as statistics_router
from identification.store import tables
from nrm_contracts import Topic
from nrm_runtime.audit import SystemActor, audit_router
from nrm_runtime.clock import Clock, system_clock, today_in_cambodia
from nrm_runtime.consumer import Subscription
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.reference_codes import reference_router
from nrm_runtime.service import ServiceDefinition, create_service_app
from nrm_runtime.working_days import cambodian_calendar, check_covers_this_year


def create_app(
    settings: IdentificationSettings | None = None, *, clock: Clock = system_clock
) -> FastAPI:
    """The identification app; ``clock`` is replaced by a fake one in tests."""
    settings = settings or IdentificationSettings()
    if settings.field_keys_file is None:
        raise ValueError("identification seals personal data: set IDENTIFICATION_FIELD_KEYS_FILE")
    keys = KeyRing.load(settings.field_keys_file)
    calendar = cambodian_calendar()
    policy = DeadlinePolicy(
        calendar=calendar,
        preliminary_working_days=settings.preliminary_decision_working_days,
        final_days=settings.final_decision_days,
        recovery_days=settings.recovery_period_days,
    )

    async def calendar_covers_this_year(_: Database) -> None:
        check_covers_this_year(calendar, today_in_cambodia(clock))

    async def deadline_watcher(database: Database) -> None:
        await watch_deadlines(database, clock, settings.deadline_watch_seconds)

    async def pending_linker(database: Database) -> None:
        await watch_pending(
            database, keys, SystemActor.of(settings), clock, settings.pending_link_seconds
        )

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
            routers=[
                screening_router,
                case_router,
                persons_router,
                statistics_router,
                proceedings_router,
                audit_router(),
                reference_router,
            ],
            on_start=[calendar_covers_this_year],
            # The whereabouts read model of the prosecution's status view.
            subscriptions=[
                Subscription(
                    consumer_group=CONSUMER_GROUP,
                    topics=(Topic.REFERRAL, Topic.REPATRIATION),
                    handlers=HANDLERS,
                )
            ],
            background=[deadline_watcher, pending_linker],
        )
    )
    app.state.identification = IdentificationContext(settings, policy, clock, keys)
    return app
