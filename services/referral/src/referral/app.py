"""Wires the referral service: ``uvicorn referral.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.consumer import Subscription
from nrm_runtime.service import ServiceDefinition, create_service_app
from referral.api import router
from referral.handlers import HANDLERS
from referral.settings import ReferralSettings
from referral.store import tables

CONSUMER_GROUP = "referral"


def create_app(settings: ReferralSettings | None = None) -> FastAPI:
    return create_service_app(
        ServiceDefinition(
            title="NRM referral",
            description="Referral cases, needs assessment, matching with providers and the "
            "referral lifecycle, delivered to NGOs.",
            settings=settings or ReferralSettings(),
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.REFERRAL,
            routers=[router],
            subscriptions=[
                Subscription(
                    consumer_group=CONSUMER_GROUP,
                    topics=(Topic.IDENTIFICATION,),
                    handlers=HANDLERS,
                )
            ],
        )
    )
