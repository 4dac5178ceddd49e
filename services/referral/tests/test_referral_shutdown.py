"""The referral service stops in bounded time while notices are being sent, and keeps them.

The app runs with its lifespan entered and left, against a broker and a provider webhook
that take connections and never answer: when the service stops, a notice is being
published on the provider's topic and another posted to its webhook. Both attempts must
have ended before the service lets go of its database (left running, they were cancelled
again by the event loop's own shutdown mid-write, and that could hang it for ever), and
both notices stay due for the next start: nothing is dropped.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
from fastapi import FastAPI

from nrm_runtime.database import Database
from referral.entrypoints.events import HANDLERS, reception_handlers
from referral.settings import ReferralSettings

# Far above a stop's real duration (well under a second here): only a hang reaches it.
STOP_BOUND_SECONDS = 30
SHELTER = UUID("00000000-0000-4000-8000-0000000000a1")
PROVIDER = "ngo-shelter-a"

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def referral_settings(
    referral_db: Path, token_keys: Path, field_keys: Path, silent_broker: str
) -> ReferralSettings:
    return ReferralSettings(
        environment="test",
        database_url=f"sqlite+aiosqlite:///{referral_db}",
        kafka_bootstrap_servers=silent_broker,
        jwt_jwks_file=token_keys / "dev-jwks.json",
        field_keys_file=field_keys,
        deadline_sweep_seconds=3600,
        # The app's own worker picks the notices up at once, and waits long for answers.
        delivery_poll_seconds=0.05,
        delivery_timeout_seconds=60,
        shutdown_grace_seconds=5,
        # The provider's webhook here is the silent socket on the loopback.
        webhook_allowed_networks=["127.0.0.0/8"],
    )


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app between its start and its stop, with a client on the same event loop;
    the stop must end within the bound."""
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        async with asyncio.timeout(STOP_BOUND_SECONDS):
            await lifespan.__aexit__(None, None, None)


async def send_a_referral(
    app: FastAPI,
    client: httpx.AsyncClient,
    auth: Callable[..., dict[str, str]],
    events: list[Any],
) -> str:
    """Handle ``events`` (a shelter, a presumed victim), then assess, refer, submit and
    sign off: the referral is sent, and its notices are due."""
    database: Database = app.state.database
    handlers = {**HANDLERS, **reception_handlers(app.state.referral)}
    case_id = ""
    for event in events:
        async with database.unit_of_work() as uow:
            await handlers[type(event)](event, uow)
            await uow.commit()
            case_id = next((str(e.data.referral_case_id) for e in uow.recorded), case_id)
    coordinator = auth("mosvy", "case_manager")
    assessed = await client.put(
        f"/referral-cases/{case_id}/assessment",
        json={"needs": ["safe_accommodation"], "urgency": "high"},
        headers=coordinator,
    )
    assert assessed.status_code == 200, assessed.text
    created = await client.post(
        f"/referral-cases/{case_id}/referrals",
        json={
            "facility_id": str(SHELTER),
            "needs": ["safe_accommodation"],
            "officer_contact": "+855 12 000 111",
        },
        headers=coordinator,
    )
    assert created.status_code == 201, created.text
    referral_id = str(created.json()["id"])
    for action, headers in [
        ("submit", coordinator),
        ("sign-off", auth("mosvy", "competent_authority")),
    ]:
        moved = await client.post(f"/referrals/{referral_id}/{action}", headers=headers)
        assert moved.status_code == 200, moved.text
    return referral_id


def deliveries(referral_db: Path) -> list[tuple[str, int, str | None]]:
    """``(channel, attempts, delivered_at)`` of every notice, as the next start finds them."""
    connection = sqlite3.connect(referral_db)
    try:
        return connection.execute(
            "SELECT channel, attempts, delivered_at FROM delivery ORDER BY channel"
        ).fetchall()
    finally:
        connection.close()


async def test_notices_being_sent_when_the_service_stops_end_first_and_stay_due(
    referral_app, referral_db, auth, facility_event, victim_presumed, silent_broker, monkeypatch
) -> None:
    worker = referral_app.state.delivery_worker
    database = referral_app.state.database
    ended_before_the_database_closed: list[bool] = []
    dispose = database.dispose

    async def dispose_noting_the_attempts() -> None:
        ended_before_the_database_closed.extend(t.done() for t in attempts)
        await dispose()

    monkeypatch.setattr(database, "dispose", dispose_noting_the_attempts)

    async with running(referral_app) as client:
        registered = await client.put(
            "/providers/me/webhook",
            json={"url": f"http://{silent_broker}/hook"},
            headers=auth(PROVIDER, "provider_staff"),
        )
        assert registered.status_code == 200, registered.text
        await send_a_referral(
            referral_app, client, auth, [facility_event(SHELTER, PROVIDER), victim_presumed()]
        )
        async with asyncio.timeout(STOP_BOUND_SECONDS):
            while True:  # the notice on the provider's topic, and the one to its webhook
                if len(worker.attempts_under_way) == 2:
                    break
                await asyncio.sleep(0.01)
        attempts = worker.attempts_under_way

    assert ended_before_the_database_closed == [True, True]
    assert (
        sorted(t.get_name() for t in asyncio.all_tasks() if t is not asyncio.current_task()) == []
    )
    assert deliveries(referral_db) == [("kafka", 0, None), ("webhook", 0, None)]
