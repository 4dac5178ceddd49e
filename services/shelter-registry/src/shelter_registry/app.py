"""Wires the shelter-registry service: ``uvicorn shelter_registry.app:create_app --factory``."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from fastapi import FastAPI

from nrm_contracts import Actor, Topic
from nrm_runtime.clock import Clock, system_clock
from nrm_runtime.consumer import Subscription
from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.reference_codes import reference_router
from nrm_runtime.service import DatabaseTask, ServiceDefinition, create_service_app
from shelter_registry.api import router
from shelter_registry.api_beds import router as beds_router
from shelter_registry.contacts import load_keys, seal_clear_contacts
from shelter_registry.handlers import placement_handlers
from shelter_registry.reference.loader import load_reference_data
from shelter_registry.reservations import expire_due
from shelter_registry.settings import ShelterRegistrySettings
from shelter_registry.store import tables

log = logging.getLogger(__name__)

CONSUMER_GROUP = "shelter-registry"
EXPIRY_ACTOR = Actor("shelter-registry", "reservation-expiry")


def reservation_sweeper(settings: ShelterRegistrySettings, clock: Clock) -> DatabaseTask:
    """A background task: every ``reservation_sweep_seconds``, expire held reservations
    whose time is up and free their beds (each with its ``capacity.changed``)."""

    async def sweep_forever(database: Database) -> None:
        while True:
            await asyncio.sleep(settings.reservation_sweep_seconds)
            try:
                await sweep_once(database, clock)
            except Exception:
                log.warning("reservation sweep failed", exc_info=True)

    return sweep_forever


def contact_sealer(keys: KeyRing) -> DatabaseTask:
    """A start-up step: seal the contacts a registry from before sealing holds in clear."""

    async def seal_on_start(database: Database) -> None:
        sealed = await seal_clear_contacts(database, keys)
        if sealed:
            log.info("clear facility contacts sealed", extra={"values_sealed": sealed})

    return seal_on_start


def reference_loader(keys: KeyRing) -> DatabaseTask:
    """A start-up step: add the reference facilities the registry lacks (idempotent),
    their contacts sealed with the service's ``keys``."""

    async def load_reference_on_start(database: Database) -> None:
        await load_reference_data(database, keys)

    return load_reference_on_start


async def sweep_once(database: Database, clock: Clock) -> int:
    """Expire every due reservation now; how many expired."""
    async with database.unit_of_work(actor=EXPIRY_ACTOR) as uow:
        expired = await expire_due(uow, clock())
        await uow.commit()
    return expired


def create_app(
    settings: ShelterRegistrySettings | None = None, clock: Clock = system_clock
) -> FastAPI:
    """The service; ``clock`` tells the time of reservations and changes (tests fake it)."""
    settings = settings or ShelterRegistrySettings()
    keys = load_keys(settings.field_keys_file)
    app = create_service_app(
        ServiceDefinition(
            title="NRM shelter registry",
            description="Organisations, facilities and their live capacity; registration "
            "with MOSVY; search for referral; coverage and gaps.",
            settings=settings,
            tables=tables,
            migrations=Path(__file__).parent / "migrations",
            owned_topic=Topic.SHELTER_REGISTRY,
            routers=[router, beds_router, reference_router],
            subscriptions=[
                Subscription(
                    consumer_group=CONSUMER_GROUP,
                    topics=(Topic.REFERRAL,),
                    handlers=placement_handlers(clock),
                )
            ],
            on_start=[
                contact_sealer(keys),
                *([reference_loader(keys)] if settings.loads_reference_data else []),
            ],
            background=[reservation_sweeper(settings, clock)],
        )
    )
    app.state.clock = clock
    app.state.field_keys = keys
    return app
