"""Wires the referral service: ``uvicorn referral.app:create_app --factory``."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.audit import audit_router
from nrm_runtime.clock import Clock
from nrm_runtime.consumer import Subscription
from nrm_runtime.database import Database
from nrm_runtime.reference_codes import reference_router
from nrm_runtime.service import ServiceDefinition, create_service_app
from referral.api import router as cases_router
from referral.api_needs import router as needs_router
from referral.api_providers import router as providers_router
from referral.api_referrals import router as referrals_router
from referral.context import ReferralContext
from referral.delivery import DeliveryWorker
from referral.handlers import HANDLERS, reception_handlers
from referral.referrals import expire_overdue, notice_follow_ups_due
from referral.settings import ReferralSettings
from referral.store import tables
from referral.webhooks import declare_notices

CONSUMER_GROUP = "referral"
log = logging.getLogger(__name__)


async def sweep_deadlines(context: ReferralContext, database: Database) -> None:
    """Until cancelled: expire the referrals whose provider did not answer in time, and
    tell providers of the follow-up visits that fell due."""
    while True:
        try:
            async with database.unit_of_work() as uow:
                if await expire_overdue(uow, context) + await notice_follow_ups_due(uow, context):
                    await uow.commit()
        except Exception:
            log.warning("deadline sweep failed", exc_info=True)
        await asyncio.sleep(context.settings.deadline_sweep_seconds)


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
            routers=[
                cases_router,
                needs_router,
                referrals_router,
                providers_router,
                audit_router(),
                reference_router,
            ],
            subscriptions=[
                Subscription(
                    consumer_group=CONSUMER_GROUP,
                    topics=(Topic.IDENTIFICATION, Topic.SHELTER_REGISTRY, Topic.REPATRIATION),
                    handlers={**HANDLERS, **reception_handlers(context)},
                )
            ],
            background=[worker.run, partial(sweep_deadlines, context)],
        )
    )
    declare_notices(app)
    app.state.referral = context
    app.state.delivery_worker = worker
    worker.report_to(app.state.metrics)
    return app
