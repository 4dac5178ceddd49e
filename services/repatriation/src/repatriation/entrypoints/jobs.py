"""Repatriation's background jobs: the delivery of our liaison messages to the
counterparts, and the deadline sweep."""

from __future__ import annotations

from functools import partial

import httpx

from nrm_runtime.database import Database
from nrm_runtime.periodic import every
from nrm_runtime.service import DatabaseTask
from repatriation.context import Repatriation
from repatriation.usecases.deadlines import sweep_deadlines
from repatriation.usecases.delivery import OutboundDispatcher


def background_jobs(context: Repatriation, dispatcher: OutboundDispatcher) -> list[DatabaseTask]:
    return [partial(deliver_liaison_messages, dispatcher), partial(sweep_missed_deadlines, context)]


async def deliver_liaison_messages(dispatcher: OutboundDispatcher, database: Database) -> None:
    """Deliver what is due as soon as a commit queues a message, and at the latest every
    ``liaison_poll_seconds``. Each round waits for that moment first (so a round that
    failed still waits before the next one); the first round delivers at once. A message
    not delivered is retried by a later round once its backoff has passed
    (``next_attempt_at``), not within the round."""
    database.on_commit_of_events(dispatcher.wake)
    settings = dispatcher.context.settings
    async with httpx.AsyncClient(
        timeout=settings.liaison_timeout_seconds, transport=dispatcher.transport
    ) as client:

        async def one_round() -> int:
            await dispatcher.woken()
            return await dispatcher.deliver_due(database, client)

        dispatcher.wake()
        await every(0, one_round, job="liaison delivery")


async def sweep_missed_deadlines(context: Repatriation, database: Database) -> None:
    """Escalate the clocks that ran out, every ``deadline_sweep_seconds``."""
    await every(
        context.settings.deadline_sweep_seconds,
        partial(sweep_deadlines, context, database),
        job="deadline sweep",
    )
