"""Live pages: server-sent events that tell an open page its list changed.

Fed by polling, not by the broker: every ``live_poll_seconds`` the stream asks a service,
with the user's own token, whether what the page shows changed since it was drawn, so the
service's policy decides what a change is to this user, and the console neither
consumes another service's topic nor keeps any case data. The page then fetches itself
again and swaps the list (static/console.js). A stream ends after ``STREAM_SECONDS`` (the
browser reconnects) or when the session ends.

Two kinds of cursor go through the same stream: a time (the NGO inbox asks the referral
service's provider feed for changes after it), and a digest of what the page shows (the
coordinator's pipeline, for which the service has no "changed since" list: the stream
reads the list as the page would and compares its digest, see :func:`digest_of`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from console.backbone import ServiceError, SessionExpired
from console.context import context_of
from console.sessions import COOKIE

STREAM_SECONDS = 300.0


def digest_of(shown: Any) -> str:
    """A short digest of what a page shows (JSON-able): the cursor of a page whose
    service cannot say what changed since a time. Sent to the browser in the stream's
    URL: a hash, never the values."""
    text = json.dumps(shown, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def event_stream(
    request: Request, since: str, changes: Callable[[str, str], Awaitable[str | None]]
) -> StreamingResponse:
    """An SSE stream: ``changed`` with the new cursor each time ``changes(token,
    cursor)`` finds a change (it answers the new cursor: the latest change's time, or
    the new digest; None without a change)."""
    interval = context_of(request).settings.live_poll_seconds

    async def stream() -> AsyncIterator[str]:
        cursor = since
        ends = time.monotonic() + STREAM_SECONDS
        yield "retry: 5000\n\n"
        while time.monotonic() < ends and not await request.is_disconnected():
            token = await live_token(request)
            if token is None:
                yield "event: signed-out\ndata: \n\n"
                return
            try:
                latest = await changes(token, cursor)
            except (ServiceError, SessionExpired):
                latest = None
            if latest is not None:
                cursor = latest
                yield f"event: changed\ndata: {cursor}\n\n"
            else:
                yield ": waiting\n\n"
            await asyncio.sleep(interval)

    return StreamingResponse(
        stream(), media_type="text/event-stream", headers={"X-Accel-Buffering": "no"}
    )


async def live_token(request: Request) -> str | None:
    """The token of the request's session while it lives: looked up again at each poll,
    without counting as activity, so that an open page does not keep a session alive
    past its idle timeout, and the stream stops when the session ends."""
    session = await context_of(request).sessions.peek(request.cookies.get(COOKIE))
    if session is None or session.user is None:
        return None
    return session.user.access_token
