"""The registry's start-up steps and its background job: the reservation-expiry sweep,
a round of :func:`nrm_runtime.periodic.every`."""

from __future__ import annotations

import asyncio
import logging
from functools import partial

from nrm_runtime.database import Database
from nrm_runtime.periodic import every
from nrm_runtime.service import DatabaseTask
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.usecases.contacts import seal_clear_contacts
from shelter_registry.usecases.reference_data import load_reference_data
from shelter_registry.usecases.reservations import expire_reservations

log = logging.getLogger(__name__)


async def expire_reservations_job(context: ShelterRegistryContext, database: Database) -> None:
    """Until cancelled: every ``reservation_sweep_seconds``, expire held reservations
    whose time is up and free their beds (each with its ``capacity.changed``)."""
    interval = context.settings.reservation_sweep_seconds
    # The first round waits one interval, as the sweep always has: the start-up steps
    # (sealing, reference data) have the database to themselves.
    await asyncio.sleep(interval)
    await every(
        interval,
        lambda: expire_reservations(database, context.clock()),
        job="reservation expiry",
    )


async def seal_contacts_on_start(context: ShelterRegistryContext, database: Database) -> None:
    """Seal the contacts a registry from before sealing holds in clear."""
    sealed = await seal_clear_contacts(database, context.keys)
    if sealed:
        log.info("clear facility contacts sealed", extra={"values_sealed": sealed})


async def load_reference_on_start(context: ShelterRegistryContext, database: Database) -> None:
    """Add the reference facilities the registry lacks (idempotent), their contacts
    sealed with the service's keys."""
    await load_reference_data(database, context.keys)


def start_up_steps(context: ShelterRegistryContext) -> list[DatabaseTask]:
    steps: list[DatabaseTask] = [partial(seal_contacts_on_start, context)]
    if context.settings.loads_reference_data:
        steps.append(partial(load_reference_on_start, context))
    return steps


def background_jobs(context: ShelterRegistryContext) -> list[DatabaseTask]:
    return [partial(expire_reservations_job, context)]
