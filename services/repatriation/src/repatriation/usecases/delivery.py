"""Delivery of our messages to the counterparts' endpoints: signed, retried, in order.

Pending messages are read from ``liaison_message`` (written in the same transaction as
the change they report). Each is POSTed with its idempotency key and an HMAC signature;
a 2xx marks it delivered, a 4xx (other than 408/429) marks it rejected for good and
shows on the case's timeline, anything else (connection refused, timeout, 5xx) is
retried with exponential backoff, without limit: a counterpart that is down gets every
message once it is back. Messages of one case go out in order: a message waits while an
earlier one of its case is undelivered.

Delivery is at least once (a crash between the answer and the mark resends); the
receiver applies a message once by its idempotency key, so it is sent to the
counterpart's effect exactly once. A lease on the row keeps two replicas from sending
the same message at the same time. The job that runs rounds of delivery is
:func:`repatriation.entrypoints.jobs.deliver_liaison_messages`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, update
from sqlmodel import col, select

from nrm_runtime.database import Database
from repatriation.context import Repatriation
from repatriation.domain.signing import SENDER_HEADER, signed_headers
from repatriation.domain.sop import HOME_COUNTRY
from repatriation.store import LiaisonMessage, MessageFlow, MessageStatus, open_text

log = logging.getLogger(__name__)

BATCH_SIZE = 200
LEASE = timedelta(seconds=60)
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


class OutboundDispatcher:
    """Sends pending liaison messages; woken by commits, polling as a fallback."""

    def __init__(
        self, context: Repatriation, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.context = context
        self.transport = transport
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def woken(self) -> None:
        """Return once a commit queued a message, or after ``liaison_poll_seconds``."""
        # asyncio.timeout, not wait_for: wait_for swallows a cancellation that lands as
        # the wake comes, and the job would then outlive the service's shutdown.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.context.settings.liaison_poll_seconds):
                await self._wake.wait()
        self._wake.clear()

    async def deliver_due(self, database: Database, client: httpx.AsyncClient) -> int:
        """One round: try every message that is due and first in line for its case."""
        now = self.context.clock()
        async with database.session() as session:
            result = await session.exec(
                select(LiaisonMessage)
                .where(
                    col(LiaisonMessage.flow) == MessageFlow.SENT,
                    col(LiaisonMessage.status) == MessageStatus.PENDING,
                )
                .order_by(col(LiaisonMessage.sequence))
                .limit(BATCH_SIZE)
            )
            pending = list(result.all())
        waiting_cases: set[object] = set()
        delivered = 0
        for message in pending:
            if message.case_id in waiting_cases:
                continue
            due = message.next_attempt_at is None or message.next_attempt_at <= now
            link = self.context.settings.counterparts.get(message.counterpart_country)
            if not due or link is None or link.endpoint is None:
                waiting_cases.add(message.case_id)
                continue
            if not await self._lease(database, message, now):
                waiting_cases.add(message.case_id)
                continue
            ok = await self._send(
                database, client, message, link.endpoint, link.secret.get_secret_value()
            )
            if ok:
                delivered += 1
            else:
                waiting_cases.add(message.case_id)
        return delivered

    async def _lease(self, database: Database, message: LiaisonMessage, now: datetime) -> bool:
        async with database.unit_of_work() as uow:
            taken = await uow.session.exec(
                update(LiaisonMessage)
                .where(
                    col(LiaisonMessage.sequence) == message.sequence,
                    col(LiaisonMessage.status) == MessageStatus.PENDING,
                    or_(
                        col(LiaisonMessage.lease_until).is_(None),
                        col(LiaisonMessage.lease_until) < now,
                    ),
                )
                .values(lease_until=now + LEASE)
            )
            await uow.commit()
        return bool(taken.rowcount == 1)

    async def _send(
        self,
        database: Database,
        client: httpx.AsyncClient,
        message: LiaisonMessage,
        endpoint: str,
        secret: str,
    ) -> bool:
        # Opened only to be signed and sent: the counterpart needs the person in clear.
        body = (open_text(self.context.keys, message) or "").encode()
        headers = {
            "Content-Type": "application/json",
            SENDER_HEADER: HOME_COUNTRY,
            **signed_headers(
                secret, body, now=time.time(), idempotency_key=message.idempotency_key
            ),
        }
        error: str | None = None
        status_code: int | None = None
        try:
            response = await client.post(endpoint, content=body, headers=headers)
            status_code = response.status_code
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: counterpart endpoint unreachable"
        attempts = message.attempts + 1
        now = self.context.clock()
        values: dict[str, object] = {"attempts": attempts, "lease_until": None}
        if status_code is not None and 200 <= status_code < 300:
            values.update(
                status=MessageStatus.DELIVERED,
                delivered_at=now,
                last_error=None,
                next_attempt_at=None,
                response_status=status_code,
            )
        elif (
            status_code is not None
            and 400 <= status_code < 500
            and status_code not in RETRYABLE_CLIENT_ERRORS
        ):
            values.update(
                status=MessageStatus.REJECTED,
                response_status=status_code,
                last_error=f"refused by the counterpart: HTTP {status_code}",
                next_attempt_at=None,
            )
        else:
            values.update(
                response_status=status_code,
                last_error=error or f"counterpart answered HTTP {status_code}",
                next_attempt_at=now + self.backoff(attempts),
            )
        async with database.unit_of_work() as uow:
            await uow.session.exec(
                update(LiaisonMessage)
                .where(col(LiaisonMessage.sequence) == message.sequence)
                .values(**values)
            )
            await uow.commit()
        if values.get("status") is None:
            log.info(
                "liaison message not delivered; will retry",
                extra={"message_id": str(message.id), "attempts": attempts},
            )
        return values.get("status") == MessageStatus.DELIVERED

    def backoff(self, attempts: int) -> timedelta:
        """Exponential, capped, with jitter so that retries to one endpoint spread out."""
        settings = self.context.settings
        seconds = min(
            settings.liaison_retry_base_seconds * 2 ** (attempts - 1),
            settings.liaison_retry_max_seconds,
        )
        return timedelta(seconds=seconds * random.uniform(0.8, 1.0))
