"""The simulator's HTTP server: the endpoint our messages are delivered to, a control
route to make it notify a case, and what it received (for tests)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from repatriation.domain.signing import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    verify,
)
from repatriation.simulator.player import Counterpart

SIGNATURE_TOLERANCE_SECONDS = 300


@dataclass
class Inbox:
    """What reached the simulated agency, each message once by its idempotency key."""

    fail_first: int = 0
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    duplicates: int = 0
    failed_deliveries: int = 0
    bad_signatures: int = 0


def create_simulator(counterpart: Counterpart, *, fail_first: int = 0) -> FastAPI:
    """The simulated agency of ``counterpart.country``."""
    inbox = Inbox(fail_first=fail_first)
    tasks: set[asyncio.Task[Any]] = set()
    clients: list[httpx.AsyncClient] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=10) as client:
            clients.append(client)
            yield
            for task in tasks:
                task.cancel()

    app = FastAPI(title=f"Counterpart simulator ({counterpart.country})", lifespan=lifespan)

    def play_later(case_id: str) -> None:
        task = asyncio.create_task(counterpart.play(clients[0], case_id))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    @app.post("/nrm/messages")
    async def receive_message(request: Request) -> JSONResponse:
        """Where the NRM delivers its messages to this agency."""
        body = await request.body()
        problem = verify(
            counterpart.secret,
            timestamp=request.headers.get(TIMESTAMP_HEADER),
            given=request.headers.get(SIGNATURE_HEADER),
            body=body,
            now=time.time(),
            tolerance_seconds=SIGNATURE_TOLERANCE_SECONDS,
        )
        if problem is not None:
            inbox.bad_signatures += 1
            return JSONResponse({"error": problem}, 401)
        key = request.headers.get(IDEMPOTENCY_HEADER)
        if not key:
            return JSONResponse({"error": "Idempotency-Key required"}, 400)
        if inbox.fail_first > 0:
            inbox.fail_first -= 1
            inbox.failed_deliveries += 1
            return JSONResponse({"error": "temporarily unavailable"}, 503)
        if key in inbox.messages:
            inbox.duplicates += 1
            return JSONResponse({"status": "duplicate"}, 200)
        message = json.loads(body)
        inbox.messages[key] = {
            "idempotency_key": key,
            "message_type": message.get("message_type"),
            "case_id": message.get("case_id"),
            "step": (message.get("step") or {}).get("id")
            if isinstance(message.get("step"), dict)
            else message.get("step"),
            "received_at": datetime.now(UTC).isoformat(),
        }
        if message.get("case_id"):
            play_later(str(message["case_id"]))
        return JSONResponse({"status": "accepted"}, 202)

    @app.get("/received")
    async def received() -> dict[str, Any]:
        """Every message received, once each; duplicates and failed deliveries counted."""
        return {
            "messages": list(inbox.messages.values()),
            "duplicates": inbox.duplicates,
            "failed_deliveries": inbox.failed_deliveries,
            "bad_signatures": inbox.bad_signatures,
        }

    @app.post("/notifications")
    async def notify(request: Request) -> JSONResponse:
        """Make this agency notify the NRM of a case (the body of ``POST /liaison/cases``),
        then play its side of it."""
        notification = await request.json()
        answer = await counterpart.call(clients[0], "POST", "/liaison/cases", notification)
        if answer.status_code == 201:
            play_later(answer.json()["id"])
        return JSONResponse(answer.json(), answer.status_code)

    @app.get("/healthz")
    async def health() -> dict[str, str]:
        return {"status": "ok", "country": counterpart.country}

    return app
