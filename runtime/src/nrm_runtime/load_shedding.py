"""Overload is answered, not dropped: a bound on the requests one process serves at once.

Past ``max_in_flight_requests`` a request is answered at once with 503, ``Retry-After``
and the error shape, before any work is done for it: the requests already admitted
finish in their time instead of every request timing out together, and the client (or
the load balancer, which then tries another replica) knows to come back. Health and
metrics are never shed: an overloaded replica must still say so.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

from nrm_runtime.hardening import UNGUARDED_PATHS, answer, error_body

RETRY_AFTER_SECONDS = 1


class LoadShedding:
    """The ASGI middleware: counts the requests in flight, sheds past the bound."""

    def __init__(
        self, app: ASGIApp, *, max_in_flight: int, in_flight: Gauge, shed: Counter
    ) -> None:
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._gauge = in_flight
        self._shed = shed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNGUARDED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self._shed.inc()
            await answer(
                send,
                503,
                error_body("overloaded", "the service is at capacity: retry after a moment"),
                [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
            )
            return
        self.in_flight += 1
        self._gauge.set(self.in_flight)
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self._gauge.set(self.in_flight)
