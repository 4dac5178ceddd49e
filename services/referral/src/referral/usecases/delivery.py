"""Delivery of referral notices to providers: signed webhooks and per-provider topics.

A notice is written to the delivery table in the same transaction as the change it
announces, one row per channel, and is kept until delivered: an endpoint that fails or
is slow is retried with backoff and never loses a notice; every attempt is logged. Each
delivery runs as its own task with its own timeout, so one slow or failing endpoint
never holds up another provider's notices; a referral's notices on one channel go out
in order, each once the one before it was delivered (or given up).

Every notice is a CloudEvents envelope in structured JSON mode
(``application/cloudevents+json``, type ``kh.nrm.referral.provider_notice.v1``, data
:class:`nrm_contracts.events.notices.ReferralNotice`): the same body on the provider's
topic and to its webhook. Webhooks follow the Standard Webhooks specification:
``webhook-id`` (the notice's CloudEvents id: the same on every retry, for the receiver to
deduplicate), ``webhook-timestamp`` (Unix seconds of this attempt) and
``webhook-signature`` (``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`` with the
provider's ``whsec_`` secret; during a rotation's overlap, one signature per live secret,
space-separated). A notice carries ids and the non-identifying summary only: the
provider fetches the rest by REST with its token.

A notice not delivered within ``delivery_give_up_hours`` of being written (or of the
provider asking for it again) is given up: dead, kept, counted, no longer attempted,
until ``POST /providers/me/deliveries/{id}/redeliver``.

Every webhook attempt checks the destination again (:mod:`nrm_runtime.destinations`):
the host is resolved, the attempt is refused if any address is forbidden, and the
request goes to the checked address (Host header and TLS name the registered host), so a
name re-pointed at an internal address since its registration (DNS rebinding) reaches
nothing. Redirects are not followed: a 3xx answer is a failed attempt. A refused attempt
is a failed one like any other: recorded with its reason, retried with backoff.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from uuid import UUID

import httpx
from prometheus_client import Counter
from sqlalchemy import ColumnElement, exists
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from standardwebhooks import Webhook

from nrm_contracts import CONTENT_TYPE
from nrm_runtime.broker import Broker, spoils_the_producer
from nrm_runtime.database import Database
from nrm_runtime.destinations import DestinationRefused
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.shutdown import bounded_step, cancel_and_wait
from referral.context import ReferralContext
from referral.store import Delivery, DeliveryAttempt, ProviderEndpoint
from referral.usecases.notices import Channel

log = logging.getLogger(__name__)

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
ENDPOINT_TABLE = "provider_endpoint"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signatures(live_secrets: Sequence[str], message_id: str, at: datetime, body: bytes) -> str:
    """The ``webhook-signature`` value: one ``v1,<base64>`` per live secret."""
    return " ".join(
        Webhook(secret).sign(msg_id=message_id, timestamp=at, data=body) for secret in live_secrets
    )


def provider_topic(context: ReferralContext, organisation_id: str) -> str:
    """The organisation's own topic (with the deployment's topic prefix)."""
    return context.settings.topic(f"{context.settings.provider_topic_prefix}{organisation_id}")


def live_secrets(context: ReferralContext, endpoint: ProviderEndpoint, now: datetime) -> list[str]:
    """The endpoint's secret, and the previous one while its overlap lasts."""
    current = context.open(
        endpoint.secret_sealed, ENDPOINT_TABLE, endpoint.organisation_id, "secret_sealed"
    )
    assert current is not None
    found = [current]
    until = endpoint.previous_secret_until
    if endpoint.previous_secret_sealed and until is not None and now < until:
        previous = context.open(
            endpoint.previous_secret_sealed,
            ENDPOINT_TABLE,
            endpoint.organisation_id,
            "previous_secret_sealed",
        )
        assert previous is not None
        found.append(previous)
    return found


def _an_earlier_notice_pending() -> ColumnElement[bool]:
    """Whether an earlier notice of the same referral on the same channel is still to be
    delivered (in flight, or waiting for its retry): a receiver sees accepted before
    admitted. A notice given up (dead) holds nothing back."""
    earlier = aliased(Delivery)
    return exists().where(
        col(earlier.referral_id) == col(Delivery.referral_id),
        col(earlier.channel) == col(Delivery.channel),
        col(earlier.delivered_at).is_(None),
        col(earlier.dead_at).is_(None),
        col(earlier.created_at) < col(Delivery.created_at),
    )


class ProviderTopics:
    """Publishes notices on the per-provider topics, creating each topic on first use.

    Its own idempotent producer, replaced when a delivery fails (see
    :meth:`nrm_runtime.broker.Broker.recover`): after an outage longer than the
    delivery timeout the old one would fail every notice for ever.
    """

    def __init__(self, context: ReferralContext) -> None:
        self._context = context
        settings = context.settings
        self.broker = Broker(settings, [], client_id=f"{settings.service_name}-providers")
        self._known: set[str] = set()
        self._lock = asyncio.Lock()

    async def publish(self, delivery: Delivery) -> None:
        topic = provider_topic(self._context, delivery.organisation_id)
        async with self._lock:
            if topic not in self._known:
                await self.broker.ensure_topics([topic])
                self._known.add(topic)
            # Connected at first use, and again after a recovery an attempt's timeout cut.
            await self.broker.connect()
            producer = self.broker.producer
        try:
            await producer.send_and_wait(
                topic,
                value=delivery.body.encode(),
                key=str(delivery.referral_id).encode(),
                headers=[
                    ("content-type", CONTENT_TYPE.encode()),
                    ("delivery-id", str(delivery.id).encode()),
                ],
            )
        except Exception as failed:
            if spoils_the_producer(failed):
                await self.broker.recover(producer, failed)
            raise

    async def close(self, grace_seconds: float) -> None:
        """Stop the producer within ``grace_seconds``: notices it has not had acknowledged
        stay due in the delivery table."""
        await bounded_step(
            self.broker.close(), what="close the provider topics", grace_seconds=grace_seconds
        )


class DeliveryWorker:
    """Sends due deliveries, each in its own task; records every attempt."""

    def __init__(self, context: ReferralContext, client: httpx.AsyncClient | None = None) -> None:
        self._context = context
        self._client = client
        self._topics = ProviderTopics(context)
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        self._dead: Counter | None = None

    def report_to(self, metrics: ServiceMetrics) -> None:
        """Count the provider producer's recoveries and the deliveries given up in the
        service's metrics (an alert watches ``nrm_deliveries_dead_total``)."""
        self._topics.broker.metrics = metrics
        self._dead = Counter(
            "nrm_deliveries_dead",
            "Notices given up after failing for delivery_give_up_hours, by channel.",
            ["channel"],
            registry=metrics.registry,
        )

    @property
    def poll_seconds(self) -> float:
        """How often the delivery job looks for due notices."""
        return self._context.settings.delivery_poll_seconds

    @property
    def attempts_under_way(self) -> list[asyncio.Task[None]]:
        """The delivery attempts running now, one task each."""
        return list(self._in_flight.values())

    def open_client(self) -> httpx.AsyncClient:
        """The webhook client of a run: the one given at construction, or a new one."""
        return self._client or httpx.AsyncClient(
            timeout=self._context.settings.delivery_timeout_seconds, follow_redirects=False
        )

    async def dispatch_round(self, database: Database, client: httpx.AsyncClient) -> int:
        """One round of the delivery job: how many attempts it started."""
        return len(await self.dispatch_due(database, client))

    async def stop(self, client: httpx.AsyncClient) -> None:
        """End the attempts under way and close the clients, within the shutdown grace.

        Attempts cut short are not recorded: their deliveries stay due and are sent at
        the next start. Awaited (bounded) before the runtime closes the database under
        them; left running, they were cancelled again by the event loop's own shutdown
        mid-write, and that could hang it (see nrm_runtime.shutdown). Half the runtime's
        grace for the attempts, half for the clients."""
        half = self._context.settings.shutdown_grace_seconds / 2
        await cancel_and_wait(self.attempts_under_way, grace_seconds=half)
        closing: list[Awaitable[object]] = [self._topics.close(half)]
        if self._client is None:
            closing.append(
                bounded_step(client.aclose(), what="close the webhook client", grace_seconds=half)
            )
        await asyncio.gather(*closing)

    async def dispatch_due(
        self, database: Database, client: httpx.AsyncClient
    ) -> list[asyncio.Task[None]]:
        """Start the attempts that are due now; return their tasks."""
        limit = self._context.settings.delivery_concurrency - len(self._in_flight)
        if limit <= 0:
            return []
        async with database.session() as session:
            due = (
                await session.exec(
                    select(Delivery)
                    .where(
                        col(Delivery.delivered_at).is_(None),
                        col(Delivery.dead_at).is_(None),
                        col(Delivery.next_attempt_at) <= self._context.clock(),
                        col(Delivery.id).not_in(list(self._in_flight)),
                        ~_an_earlier_notice_pending(),
                    )
                    .order_by(col(Delivery.next_attempt_at))
                    .limit(limit)
                )
            ).all()
        started = []
        for delivery in due:
            task = asyncio.create_task(
                self._attempt(database, client, delivery), name=f"delivery-{delivery.id}"
            )
            self._in_flight[delivery.id] = task
            task.add_done_callback(partial(self._landed, delivery.id))
            started.append(task)
        return started

    def _landed(self, delivery_id: UUID, _task: asyncio.Task[None]) -> None:
        self._in_flight.pop(delivery_id, None)

    async def _attempt(
        self, database: Database, client: httpx.AsyncClient, delivery: Delivery
    ) -> None:
        started = time.perf_counter()
        status_code: int | None = None
        error: str | None = None
        try:
            if delivery.channel == Channel.WEBHOOK:
                status_code = await self._post(database, client, delivery)
                if 300 <= status_code < 400:
                    error = f"endpoint answered {status_code} (redirects are not followed)"
                elif not 200 <= status_code < 300:
                    error = f"endpoint answered {status_code}"
            else:
                # Not asyncio.wait_for: on Python 3.11 it can swallow the cancellation of a
                # stopping worker that arrives as the publish ends.
                async with asyncio.timeout(self._context.settings.delivery_timeout_seconds * 3):
                    await self._topics.publish(delivery)
        except DestinationRefused as refused:
            # The reason names the host and address, never the notice: ids only in the log.
            log.warning(
                "webhook destination refused",
                extra={
                    "delivery_id": str(delivery.id),
                    "organisation_id": delivery.organisation_id,
                },
            )
            error = f"destination refused: {refused.reason}"
        except Exception as failed:  # noqa: BLE001 - any failure is this attempt's outcome
            error = f"{type(failed).__name__}: {str(failed)[:200]}"
        await self._record(database, delivery.id, status_code, error, started)

    async def _post(self, database: Database, client: httpx.AsyncClient, delivery: Delivery) -> int:
        async with database.session() as session:
            endpoint = await session.get(ProviderEndpoint, delivery.organisation_id)
        if endpoint is None:
            raise LookupError("the provider removed its webhook")
        # Resolved and checked at every attempt, within the attempt's time: a slow
        # resolver is a failed attempt, not a stuck one.
        async with asyncio.timeout(self._context.settings.delivery_timeout_seconds):
            destination = await self._context.webhook_destinations.resolve_checked(
                endpoint.url, self._context.resolve
            )
        body = delivery.body.encode()
        message_id = str(json.loads(body)["id"])
        # The receiver holds the timestamp against its own clock (a replay window of a
        # few minutes): the wall clock of this attempt, not the service's domain clock.
        sent_at = datetime.now(UTC)
        response = await client.post(
            destination.pinned_url(),
            content=body,
            headers={
                "host": destination.authority,
                # No connection kept for reuse: the pool knows connections by address
                # only, and two providers behind one address must each get a TLS session
                # verified for their own name.
                "connection": "close",
                "content-type": CONTENT_TYPE,
                ID_HEADER: message_id,
                TIMESTAMP_HEADER: str(int(sent_at.timestamp())),
                SIGNATURE_HEADER: signatures(
                    live_secrets(self._context, endpoint, self._context.clock()),
                    message_id,
                    sent_at,
                    body,
                ),
            },
            # TLS verifies the certificate against the registered name, not the address.
            extensions={"sni_hostname": destination.host} if destination.is_name else {},
            follow_redirects=False,
            timeout=self._context.settings.delivery_timeout_seconds,
        )
        return response.status_code

    async def _record(
        self,
        database: Database,
        delivery_id: UUID,
        status_code: int | None,
        error: str | None,
        started: float,
    ) -> None:
        settings = self._context.settings
        now = self._context.clock()
        async with database.unit_of_work() as uow:
            delivery = await uow.session.get(Delivery, delivery_id)
            assert delivery is not None
            delivery.attempts += 1
            if error is None:
                delivery.delivered_at = now
                delivery.last_error = None
            elif now - (delivery.redelivered_at or delivery.created_at) >= timedelta(
                hours=settings.delivery_give_up_hours
            ):
                delivery.dead_at = now
                delivery.last_error = error[:300]
                if self._dead is not None:
                    self._dead.labels(channel=delivery.channel).inc()
                log.error(
                    "delivery given up",
                    extra={
                        "delivery_id": str(delivery_id),
                        "organisation_id": delivery.organisation_id,
                    },
                )
            else:
                backoff = settings.delivery_retry_base_seconds * 2 ** (delivery.attempts - 1)
                delivery.next_attempt_at = now + timedelta(
                    seconds=min(backoff, settings.delivery_retry_max_seconds)
                )
                delivery.last_error = error[:300]
            uow.session.add(delivery)
            uow.session.add(
                DeliveryAttempt(
                    delivery_id=delivery_id,
                    attempt=delivery.attempts,
                    at=now,
                    status_code=status_code,
                    error=error[:300] if error else None,
                    duration_ms=int((time.perf_counter() - started) * 1000),
                )
            )
            await uow.commit()
