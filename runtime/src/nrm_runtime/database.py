"""The service's database: async engine, schema creation, and the unit of work.

A unit of work is one database transaction in which a use case changes state and
records the events of that change in the outbox. Nothing publishes to Kafka directly:
the relay does, after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import MetaData, event, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_contracts import Actor, Envelope, EventPayload
from nrm_runtime.schema import MigrationHistory, upgrade_to_head
from nrm_runtime.tables import outbox_table, processed_message_table, runtime_metadata
from nrm_runtime.tracing import current_traceparent

log = logging.getLogger(__name__)


class Database:
    """One service's database. SQLite (dev, tests) or PostgreSQL (production)."""

    def __init__(
        self, url: str, *, service_metadata: MetaData, event_source: str, echo: bool = False
    ) -> None:
        self.url = url
        self.event_source = event_source
        self.service_metadata = service_metadata
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **_engine_options(url))
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        self._commit_listeners: list[Callable[[], None]] = []

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self, histories: list[MigrationHistory]) -> None:
        """Bring the schema to the newest revision of every history (at service start)."""
        async with self.engine.begin() as connection:
            await connection.run_sync(upgrade_to_head, histories)

    async def create_schema(self) -> None:
        """Create the tables straight from the metadata, for tests of ad-hoc tables that
        have no migrations; a service's database is always built by :meth:`migrate`."""
        async with self.engine.begin() as connection:
            await connection.run_sync(runtime_metadata.create_all)
            await connection.run_sync(self.service_metadata.create_all)

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - readiness reports any failure as "down"
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()

    def on_commit_of_events(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every commit that wrote outbox rows (wakes the relay)."""
        self._commit_listeners.append(listener)

    @asynccontextmanager
    async def unit_of_work(self, actor: Actor | None = None) -> AsyncIterator[UnitOfWork]:
        """A transaction on behalf of ``actor``; rolled back unless committed.

        ``actor`` is who caused the change: the caller of a request, or the actor of the
        consumed event. Every event recorded in this unit of work names it.
        """
        async with self._sessions() as session:
            uow = UnitOfWork(session, self.event_source, actor, self._commit_listeners)
            try:
                yield uow
            finally:
                if session.in_transaction():
                    await session.rollback()

    def session(self) -> AsyncSession:
        """A plain session for queries that change nothing."""
        return self._sessions()


class UnitOfWork:
    """One transaction: the state change, the events it records, the message it consumed."""

    def __init__(
        self,
        session: AsyncSession,
        event_source: str,
        actor: Actor | None,
        commit_listeners: list[Callable[[], None]],
    ) -> None:
        self.session = session
        self.actor = actor
        self._event_source = event_source
        self._commit_listeners = commit_listeners
        self._outbox_rows: list[dict[str, Any]] = []
        self._recorded: list[Envelope] = []

    def record(self, payload: EventPayload, *, topic: str | None = None) -> Envelope:
        """Record an event; it is written to the outbox in this transaction, on commit.

        The envelope carries the current trace context, so that the trace continues in
        every consumer, and the actor of this unit of work. ``topic``: for an event of a
        channel of its own (``payload.channel``), the topic of that channel it goes to;
        otherwise its owner's topic.
        """
        envelope = self.envelope(payload)
        message = envelope.to_kafka()
        self._outbox_rows.append(
            {
                "event_id": envelope.id,
                "event_type": envelope.type,
                "topic": topic or envelope.topic,
                "message_key": envelope.subject,
                "message_value": message.value,
                "content_type": message.headers["content-type"].decode(),
                "traceparent": envelope.traceparent,
                "created_at": envelope.time,
            }
        )
        self._recorded.append(envelope)
        return envelope

    def envelope(self, payload: EventPayload) -> Envelope:
        """``payload`` in this unit of work's envelope (source, trace context, actor),
        not recorded: for a notice delivered to one reader rather than published."""
        return Envelope(
            source=self._event_source,
            data=payload,
            traceparent=current_traceparent(),
            actor=self.actor,
        )

    @property
    def recorded(self) -> list[Envelope]:
        """The events recorded so far in this unit of work."""
        return list(self._recorded)

    async def already_processed(self, consumer_group: str, envelope: Envelope) -> bool:
        """Whether ``consumer_group`` has already committed the effect of this event."""
        table = processed_message_table
        # The runtime's tables are Core tables: queried through the session's connection,
        # inside the same transaction as the service's ORM work.
        connection = await self.session.connection()
        found = await connection.execute(
            select(table.c.event_id).where(
                table.c.consumer_group == consumer_group,
                table.c.event_source == envelope.source,
                table.c.event_id == envelope.id,
            )
        )
        return found.first() is not None

    async def mark_processed(
        self, consumer_group: str, envelope: Envelope, *, topic: str, partition: int, offset: int
    ) -> None:
        """The tracking record: written in the same transaction as the event's effect."""
        connection = await self.session.connection()
        await connection.execute(
            insert(processed_message_table).values(
                consumer_group=consumer_group,
                event_source=envelope.source,
                event_id=envelope.id,
                event_type=envelope.type,
                topic=topic,
                partition=partition,
                offset=offset,
            )
        )

    async def commit(self) -> None:
        """Commit the state change and its outbox rows together, then wake the relay."""
        if self._outbox_rows:
            connection = await self.session.connection()
            await connection.execute(insert(outbox_table), self._outbox_rows)
        await self.session.commit()
        wrote_events = bool(self._outbox_rows)
        self._outbox_rows = []
        if wrote_events:
            for listener in self._commit_listeners:
                try:
                    listener()
                except Exception:
                    log.warning("commit listener failed", exc_info=True)


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        # One writer at a time is SQLite's rule; a busy timeout makes writers queue, not fail.
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": 10, "max_overflow": 10, "pool_pre_ping": True}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer; NORMAL sync is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
