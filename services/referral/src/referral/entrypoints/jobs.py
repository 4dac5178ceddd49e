"""Referral's background jobs: the deadline sweep and the delivery of notices to
providers, each a round of :func:`nrm_runtime.periodic.every`."""

from __future__ import annotations

from functools import partial

from nrm_runtime.database import Database
from nrm_runtime.periodic import every
from nrm_runtime.service import DatabaseTask
from referral.context import ReferralContext
from referral.usecases.deadlines import sweep_deadlines
from referral.usecases.delivery import DeliveryWorker


async def sweep_deadlines_job(context: ReferralContext, database: Database) -> None:
    """Until cancelled: expire the referrals whose provider did not answer in time, and
    tell providers of the follow-up visits that fell due."""
    await every(
        context.settings.deadline_sweep_seconds,
        partial(sweep_deadlines, database, context),
        job="deadline sweep",
    )


async def deliver_notices_job(worker: DeliveryWorker, database: Database) -> None:
    """Until cancelled: start an attempt for every due notice not already in flight.
    A failed attempt is retried by its own backoff (``next_attempt_at``), not here; on
    shutdown the attempts under way end first and the clients close, within the grace."""
    client = worker.open_client()
    try:
        await every(
            worker.poll_seconds,
            partial(worker.dispatch_round, database, client),
            job="notice delivery",
        )
    finally:
        await worker.stop(client)


def background_jobs(context: ReferralContext, worker: DeliveryWorker) -> list[DatabaseTask]:
    return [partial(deliver_notices_job, worker), partial(sweep_deadlines_job, context)]
