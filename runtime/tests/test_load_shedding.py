"""Overload is answered at once with 503 and Retry-After, never a reset connection or a
client timeout; the requests admitted finish; health and metrics are never shed."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge

from nrm_runtime.load_shedding import LoadShedding

BOUND = 3


def slow_app(release: asyncio.Event, entered: list[str]) -> FastAPI:
    app = FastAPI()

    @app.get("/work")
    async def work() -> dict[str, str]:
        entered.append("work")
        await release.wait()
        return {"done": "yes"}

    @app.get("/readyz")
    async def readyz() -> dict[str, bool]:
        return {"ready": False}

    return app


async def test_past_the_bound_requests_are_shed_with_retry_after_and_health_still_answers() -> None:
    release, entered = asyncio.Event(), []
    registry = CollectorRegistry()
    shed = Counter("shed", "", registry=registry)
    in_flight = Gauge("in_flight", "", registry=registry)
    shedding = LoadShedding(
        slow_app(release, entered), max_in_flight=BOUND, in_flight=in_flight, shed=shed
    )
    transport = httpx.ASGITransport(app=shedding)
    async with httpx.AsyncClient(transport=transport, base_url="http://unit") as client:
        admitted = [asyncio.create_task(client.get("/work")) for _ in range(BOUND)]
        while len(entered) < BOUND:  # noqa: ASYNC110 - the admitted requests run meanwhile
            await asyncio.sleep(0.01)

        refused = await client.get("/work")
        health = await client.get("/readyz")
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["error"]["code"] == "overloaded"
        assert health.status_code == 200
        assert registry.get_sample_value("shed_total") == 1
        assert registry.get_sample_value("in_flight") == BOUND

        release.set()
        assert [r.status_code for r in await asyncio.gather(*admitted)] == [200] * BOUND
        assert (await client.get("/work")).status_code == 200
    assert shedding.in_flight == 0
