"""The one loop every background job runs in: a round, then a pause, for the process's
life. A failed round (the database or the broker away) is logged and retried at the next
one, so a fault never leaves the job dead while the service looks healthy."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def every(
    interval_seconds: float | Callable[[], float],
    one_round: Callable[[], Awaitable[int | None]],
    *,
    job: str,
) -> None:
    """Run ``one_round`` every ``interval_seconds`` until cancelled. A round that returns
    a positive count is logged with it (``job`` names the job in the log)."""
    while True:
        try:
            done = await one_round()
            if done:
                log.info("%s: %d done", job, done)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("%s failed; retried at the next round", job, exc_info=True)
        pause = interval_seconds() if callable(interval_seconds) else interval_seconds
        await asyncio.sleep(pause)
