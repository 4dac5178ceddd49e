"""The background loop: a failing round does not end it; cancelling does."""

from __future__ import annotations

import asyncio

import pytest

from nrm_runtime.periodic import every


async def test_a_failed_round_is_retried_and_the_loop_goes_on() -> None:
    rounds: list[int] = []

    async def one_round() -> int:
        rounds.append(len(rounds))
        if len(rounds) < 3:
            raise ConnectionError("database away")
        return 1

    job = asyncio.create_task(every(0.001, one_round, job="test job"))
    while len(rounds) < 5:  # noqa: ASYNC110 - the loop under test sets no event
        await asyncio.sleep(0.005)
    assert not job.done()
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job


async def test_the_pause_may_be_read_at_each_round() -> None:
    pauses = iter([0.001, 0.002, 0.003])
    seen: list[float] = []

    def pause() -> float:
        seen.append(next(pauses, 0.001))
        return seen[-1]

    async def one_round() -> None:
        return None

    job = asyncio.create_task(every(pause, one_round, job="test job"))
    while len(seen) < 3:  # noqa: ASYNC110 - the loop under test sets no event
        await asyncio.sleep(0.005)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert seen[:3] == [0.001, 0.002, 0.003]
