"""The outbox relay: publishes committed events to Kafka, in commit order per key.

Woken by every commit that wrote events (polling only as a fallback for rows written by
another process), it publishes in batches, then marks the batch published. A crash
between publishing and marking republishes those events: delivery is at least once,
and every consumer is idempotent on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from opentelemetry.trace import SpanKind
from sqlalchemy import Row, delete, select, text, update

from nrm_runtime.broker import Broker, spoils_the_producer
from nrm_runtime.database import Database
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.tables import outbox_table, utc_now
from nrm_runtime.tracing import span_from_traceparent

log = logging.getLogger(__name__)

FAILURE_BACKOFF_MAX_SECONDS = 5.0
PURGE_INTERVAL_SECONDS = 3600.0
# The advisory lock the relays of one service's database take turns on (any constant).
RELAY_LOCK = 0x6E726D5F72656C61  # "nrm_rela"


class BatchNotPublished(Exception):
    """Some events of a batch were not published; ``cause`` is the first real failure."""

    def __init__(self, failures: int, batch: int, cause: BaseException) -> None:
        super().__init__(f"{failures} of {batch} events not published")
        self.failures = failures
        self.batch = batch
        self.cause = cause


class OutboxRelay:
    """Moves rows from the outbox table to their topics."""

    def __init__(
        self,
        database: Database,
        broker: Broker,
        metrics: ServiceMetrics,
        *,
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        retention: timedelta = timedelta(days=7),
        stuck_after: timedelta = timedelta(seconds=60),
    ) -> None:
        self.database = database
        self.broker = broker
        self.metrics = metrics
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.retention = retention
        self.stuck_after = stuck_after
        self._next_purge = 0.0
        # When the relay last did its work (published, found nothing, or left it to
        # another replica): what "the outbox is moving" means for /readyz.
        self._last_progress = time.monotonic()
        self._wake = asyncio.Event()
        database.on_commit_of_events(self.wake)

    def wake(self) -> None:
        """Ask the relay to look at the outbox now (called after a commit)."""
        self._wake.set()

    async def run(self) -> None:
        """Publish until cancelled."""
        backoff = 0.1
        while True:
            await self.broker.connected.wait()
            try:
                published = await self.publish_pending()
                backoff = 0.1
            except BatchNotPublished as failed:
                self.metrics.publish_failures.inc()
                log.warning(
                    "outbox publish failed; events stay in the outbox",
                    extra={
                        "error": type(failed.cause).__name__,
                        "failed": failed.failures,
                        "batch": failed.batch,
                    },
                    exc_info=failed.cause,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, FAILURE_BACKOFF_MAX_SECONDS)
                continue
            except Exception as failed:
                self.metrics.publish_failures.inc()
                log.warning(
                    "outbox publish failed; events stay in the outbox",
                    extra={"error": type(failed).__name__},
                    exc_info=True,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, FAILURE_BACKOFF_MAX_SECONDS)
                continue
            if published >= self.batch_size:
                continue  # a full batch: there is probably more
            await self._purge_when_due()
            # Woken by a commit, or after the poll interval for rows of other processes.
            # Not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives
            # as the wake-up does, and the relay would not stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_seconds):
                    await self._wake.wait()
            self._wake.clear()

    async def purge_published(self, before: datetime) -> int:
        """Delete events published before ``before``; unpublished ones are never touched.

        Kafka keeps the events; the outbox only needs them until they are published, and
        a while after, to answer "was this sent, and when".
        """
        async with self.database.engine.begin() as connection:
            result = await connection.execute(
                delete(outbox_table).where(
                    outbox_table.c.published_at.is_not(None),
                    outbox_table.c.published_at < before,
                )
            )
        return int(result.rowcount or 0)

    async def _purge_when_due(self) -> None:
        now = asyncio.get_running_loop().time()
        if now < self._next_purge:
            return
        self._next_purge = now + PURGE_INTERVAL_SECONDS
        try:
            await self.purge_published(utc_now() - self.retention)
        except Exception:
            log.warning("outbox purge failed", exc_info=True)

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events; return how many were published."""
        async with self._relay_turn() as ours:
            published = await self._publish_batch() if ours else 0
        # Reached only without a failure: the outbox moves (or is another replica's).
        self._last_progress = time.monotonic()
        return published

    async def is_moving(self) -> bool:
        """False while an event older than ``stuck_after`` waits and the relay has not
        done its work for as long: the outbox is stuck, whatever the broker says."""
        if time.monotonic() - self._last_progress < self.stuck_after.total_seconds():
            return True
        table = outbox_table
        async with self.database.engine.connect() as connection:
            oldest = await connection.scalar(
                select(table.c.created_at)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.sequence)
                .limit(1)
            )
        return oldest is None or utc_now() - oldest < self.stuck_after

    @contextlib.asynccontextmanager
    async def _relay_turn(self) -> AsyncIterator[bool]:
        """Whether this process may publish now.

        Replicas of a service share its PostgreSQL database; one relay at a time keeps
        the outbox's commit order on the topic and spares duplicate sends. SQLite has
        one process by construction.
        """
        if self.database.dialect != "postgresql":
            yield True
            return
        async with self.database.engine.connect() as connection:
            ours = bool(
                await connection.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": RELAY_LOCK}
                )
            )
            try:
                yield ours
            finally:
                if ours:
                    await connection.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": RELAY_LOCK}
                    )

    async def _publish_batch(self) -> int:
        rows = await self._unpublished_batch()
        self.metrics.outbox_backlog.set(len(rows))
        if not rows:
            return 0
        # One producer for the whole batch, held until every delivery landed: a new one
        # (see Broker.recover) must never send a key's event while an earlier one of it
        # may still be in flight on the old.
        producer = self.broker.producer
        deliveries = await self._send_all(producer, rows)
        outcomes = await asyncio.gather(*deliveries, return_exceptions=True)
        published = _published_in_key_order(rows, outcomes)
        if published:
            await self._mark_published([row.sequence for row in published])
            for row in published:
                self.metrics.events_published.labels(topic=row.topic).inc()
        failures = len(rows) - len(published)
        if failures:
            errors = [o for o in outcomes if isinstance(o, BaseException)]
            cause = next((e for e in errors if not isinstance(e, HeldBack)), errors[0])
            if any(spoils_the_producer(e) for e in errors if not isinstance(e, HeldBack)):
                await self.broker.recover(producer, cause)
            raise BatchNotPublished(failures, len(rows), cause)
        return len(published)

    async def _unpublished_batch(self) -> Sequence[Row[Any]]:
        table = outbox_table
        async with self.database.engine.connect() as connection:
            result = await connection.execute(
                select(table)
                .where(table.c.published_at.is_(None))
                .order_by(table.c.sequence)
                .limit(self.batch_size)
            )
            return result.all()

    async def _send_all(self, producer: Any, rows: Sequence[Row[Any]]) -> list[asyncio.Future[Any]]:
        """Hand every row to the producer; a refused row holds back the rest of its key.

        The producer refuses some records outright (too large, metadata timeout): that
        is the failure of one row, not of the batch, and must not stop other cases.
        """
        refused_keys: set[str] = set()
        deliveries: list[asyncio.Future[Any]] = []
        for row in rows:
            if row.message_key in refused_keys:
                deliveries.append(_failed(HeldBack()))
                continue
            try:
                deliveries.append(await self._send(producer, row))
            except Exception as refused:  # noqa: BLE001 - recorded as this row's outcome
                refused_keys.add(row.message_key)
                deliveries.append(_failed(refused))
        return deliveries

    async def _send(self, producer: Any, row: Row[Any]) -> asyncio.Future[Any]:
        with span_from_traceparent(f"publish {row.event_type}", row.traceparent, SpanKind.PRODUCER):
            delivery: asyncio.Future[Any] = await producer.send(
                self.broker.settings.topic(row.topic),
                value=row.message_value,
                key=row.message_key.encode(),
                # The envelope is the contract; these headers help generic Kafka tooling.
                headers=[
                    ("content-type", row.content_type.encode()),
                    ("traceparent", row.traceparent.encode()),
                ],
            )
            return delivery

    async def _mark_published(self, sequences: list[int]) -> None:
        async with self.database.engine.begin() as connection:
            await connection.execute(
                update(outbox_table)
                .where(outbox_table.c.sequence.in_(sequences))
                .values(published_at=utc_now())
            )


class HeldBack(Exception):
    """Not sent: an earlier event of its key was refused (never the cause of a failure)."""

    def __init__(self) -> None:
        super().__init__("an earlier event of its key was refused")


def _failed(error: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(error)
    return future


def _published_in_key_order(rows: Sequence[Row[Any]], outcomes: list[Any]) -> list[Row[Any]]:
    """The rows that count as published: for each key, those before its first failure.

    A later event of a key whose earlier event failed is published again with it, so a
    consumer never sees a case's events with a gap.
    """
    failed_keys: set[str] = set()
    published = []
    for row, outcome in zip(rows, outcomes, strict=True):
        if isinstance(outcome, BaseException) or row.message_key in failed_keys:
            failed_keys.add(row.message_key)
        else:
            published.append(row)
    return published
