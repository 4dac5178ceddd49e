"""Identification's background jobs, in every replica: overdue decisions announced, and
screenings recorded while a legacy import held the person index linked once it has
committed. Each runs in the runtime's loop: a failed round is logged and retried."""

from __future__ import annotations

from identification.context import IdentificationContext
from identification.person_index.pending import link_pending
from identification.usecases.deadlines import announce_overdue
from nrm_runtime.audit import SystemActor
from nrm_runtime.database import Database
from nrm_runtime.periodic import every
from nrm_runtime.service import DatabaseTask


def background_jobs(context: IdentificationContext) -> list[DatabaseTask]:
    """The jobs ``create_app`` hands the runtime, each given the service's database."""
    settings, clock, keys = context.settings, context.clock, context.keys

    async def deadline_watcher(database: Database) -> None:
        await every(
            settings.deadline_watch_seconds,
            lambda: announce_overdue(database, clock),
            job="deadline_watcher",
        )

    async def pending_linker(database: Database) -> None:
        system = SystemActor.of(settings)
        await every(
            settings.pending_link_seconds,
            lambda: link_pending(database, keys, system, clock),
            job="pending_linker",
        )

    return [deadline_watcher, pending_linker]
