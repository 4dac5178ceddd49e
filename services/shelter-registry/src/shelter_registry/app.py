"""Wires the shelter-registry service: ``uvicorn shelter_registry.app:create_app --factory``."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Topic
from nrm_runtime.clock import Clock
from nrm_runtime.consumer import Subscription
from nrm_runtime.reference_routes import reference_router
from nrm_runtime.service import ServiceDefinition, create_service_app
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.entrypoints.events import placement_handlers
from shelter_registry.entrypoints.http import ROUTERS
from shelter_registry.entrypoints.jobs import background_jobs, start_up_steps
from shelter_registry.settings import ShelterRegistrySettings
from shelter_registry.store import tables

CONSUMER_GROUP = "shelter-registry"


def create_app(
    settings: ShelterRegistrySettings | None = None, clock: Clock | None = None
) -> FastAPI:
    """The service; ``clock`` tells the time of reservations and changes (tests fake it)."""
    settings = settings or ShelterRegistrySettings()
    context = ShelterRegistryContext.load(settings, clock)
    app = create_service_app(
        ServiceDefinition(
            title="NRM shelter registry",
            description="Organisations, facilities and their live capacity; registration "
            "with MOSVY; search for referral; coverage and gaps.",
            settings=settings,
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.SHELTER_REGISTRY,
            routers=[*ROUTERS, reference_router],
            subscriptions=[
                Subscription(
                    consumer_group=CONSUMER_GROUP,
                    topics=(Topic.REFERRAL,),
                    handlers=placement_handlers(context),
                )
            ],
            on_start=start_up_steps(context),
            background=background_jobs(context),
        )
    )
    app.state.shelter_registry = context
    return app
