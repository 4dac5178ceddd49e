"""Wires the referral service: ``uvicorn referral.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.audit import audit_router
from nrm_runtime.clock import Clock
from nrm_runtime.consumer import Subscription
from nrm_runtime.reference_routes import reference_router
from nrm_runtime.service import ServiceDefinition, create_service_app
from referral.context import ReferralContext
from referral.entrypoints.events import HANDLERS, reception_handlers
from referral.entrypoints.http import ROUTERS
from referral.entrypoints.http.notices import declare_notices
from referral.entrypoints.jobs import background_jobs
from referral.settings import ReferralSettings
from referral.store import tables
from referral.usecases.delivery import DeliveryWorker

CONSUMER_GROUP = "referral"


def create_app(settings: ReferralSettings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or ReferralSettings()
    context = ReferralContext.load(settings, clock)
    worker = DeliveryWorker(context)
    app = create_service_app(
        ServiceDefinition(
            title="NRM referral",
            description="Referral cases, needs assessment, matching with providers and the "
            "referral lifecycle, delivered to NGOs.",
            settings=settings,
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.REFERRAL,
            routers=[*ROUTERS, audit_router(), reference_router],
            subscriptions=[
                Subscription(
                    consumer_group=CONSUMER_GROUP,
                    topics=(Topic.IDENTIFICATION, Topic.SHELTER_REGISTRY, Topic.REPATRIATION),
                    handlers={**HANDLERS, **reception_handlers(context)},
                )
            ],
            background=background_jobs(context, worker),
        )
    )
    declare_notices(app)
    app.state.referral = context
    app.state.delivery_worker = worker
    worker.report_to(app.state.metrics)
    return app
