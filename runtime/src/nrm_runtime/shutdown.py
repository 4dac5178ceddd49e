"""Stopping what a service started, in bounded time.

A service stops by cancelling its tasks and waiting for them, then letting go of its
Kafka clients and its database. Every one of these waits is bounded: what has not ended
within the grace period is logged by name and left behind, so that a broker that never
answers never holds the process (or a test's event loop) forever.

A task is cancelled once, never again: a second cancellation that lands while SQLAlchemy
closes the aiosqlite connection the first one interrupted leaves that close waiting on a
worker thread that has already stopped, for ever (and the event loop's own shutdown with
it, which waits for every task).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

log = logging.getLogger(__name__)


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], *, grace_seconds: float
) -> list[asyncio.Task[Any]]:
    """Cancel ``tasks``, wait up to ``grace_seconds`` for them to end; return those that did not.

    A task that had failed is logged with the type of its error only: error messages can
    quote the values they failed on, and those can be personal data.
    """
    tasks = list(tasks)
    for task in tasks:
        task.cancel()
    if not tasks:
        return []
    done, pending = await asyncio.wait(tasks, timeout=grace_seconds)
    for task in done:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning(
                "task had failed before it was stopped",
                extra={"task": task.get_name(), "error": type(error).__name__},
            )
    left = sorted(pending, key=lambda task: task.get_name())
    for task in left:
        log.error(
            "task did not end when cancelled; left behind",
            extra={"task": task.get_name(), "grace_seconds": grace_seconds},
        )
    return left


async def bounded_step(step: Awaitable[Any], *, what: str, grace_seconds: float) -> bool:
    """Await one step of stopping for at most ``grace_seconds``; whether it finished.

    A step that fails or overruns is logged (``what`` names it, with no personal data)
    and the stopping goes on: one stuck client must not keep the others open.
    """
    try:
        async with asyncio.timeout(grace_seconds):
            await step
    except TimeoutError:
        log.warning(
            "shutdown step did not finish in time",
            extra={"step": what, "grace_seconds": grace_seconds},
        )
        return False
    except Exception as failed:  # noqa: BLE001 - logged; the rest of the shutdown goes on
        log.warning("shutdown step failed", extra={"step": what, "error": type(failed).__name__})
        return False
    return True
