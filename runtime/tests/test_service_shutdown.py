"""A service stops in bounded time, even when its broker never answers.

The app is the real one (``create_service_app``), its lifespan entered and left. The
broker is a socket that takes connections and never answers, so every Kafka client is
mid-connect when the service stops; or a producer that takes records and never
acknowledges them, so the relay is mid-publish and the producer's flush never ends.
Each test bounds the whole stop (far above what it takes) and then asks that nothing the
service started is still running, and that nothing unsent left the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import MetaData, select

from nrm_contracts import Topic
from nrm_runtime import service
from nrm_runtime.broker import Broker
from nrm_runtime.consumer import Subscription
from nrm_runtime.database import Database
from nrm_runtime.service import DatabaseTask, ServiceDefinition, create_service_app
from nrm_runtime.tables import outbox_table

# Far above a stop's real duration (well under a second here): only a hang reaches it.
STOP_BOUND_SECONDS = 30
# Each step of stopping waits at most this long; the never-ending flush costs one grace.
GRACE_SECONDS = 1.0

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def make_app(
    make_settings: Callable[..., Any],
    database_url: str,
    token_keys: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., FastAPI]:
    """``make_app(bootstrap, background=[...])``: a service with a consumer, the relay
    and the given background tasks, on a real database, against ``bootstrap``."""
    # Tracing is process-wide: a unit test leaves the process's tracer provider alone.
    monkeypatch.setattr(service, "configure_tracing", lambda _settings: None)
    migrations = tmp_path / "migrations"  # a service with no tables of its own
    migrations.mkdir()

    def _app(bootstrap: str, background: list[DatabaseTask] | None = None) -> FastAPI:
        settings = make_settings(
            environment="test",
            database_url=database_url,
            jwt_jwks_file=token_keys / "dev-jwks.json",
            kafka_bootstrap_servers=bootstrap,
            shutdown_grace_seconds=GRACE_SECONDS,
        )
        return create_service_app(
            ServiceDefinition(
                title="Unit",
                description="shutdown",
                settings=settings,
                tables=MetaData(),
                owned_topic=Topic.REFERRAL,
                migrations=migrations,
                subscriptions=[Subscription("unit", (Topic.IDENTIFICATION,), {})],
                background=background or [],
            )
        )

    return _app


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[None]:
    """The app between its start and its stop; the stop must end within the bound."""
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    try:
        yield
    finally:
        async with asyncio.timeout(STOP_BOUND_SECONDS):
            await lifespan.__aexit__(None, None, None)


def tasks_left_running() -> list[str]:
    """The tasks of this event loop still running, but the test's own."""
    current = asyncio.current_task()
    return sorted(task.get_name() for task in asyncio.all_tasks() if task is not current)


class NeverAcknowledgingProducer:
    """The producer of a broker that takes records and never acknowledges them: every
    delivery stays pending, and stopping (which flushes first) would never end."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.took_a_record = asyncio.Event()

    async def start(self) -> None:
        return None

    async def send(self, topic: str, **_record: Any) -> asyncio.Future[Any]:
        self.sent.append(topic)
        self.took_a_record.set()
        return asyncio.get_running_loop().create_future()

    async def stop(self) -> None:
        await asyncio.Event().wait()


async def unpublished_events(database_url: str) -> list[str]:
    """The event types still waiting in the outbox, read as the next start would."""
    database = Database(database_url, service_metadata=MetaData(), event_source="/nrm/unit")
    try:
        async with database.engine.connect() as connection:
            rows = await connection.execute(
                select(outbox_table.c.event_type).where(outbox_table.c.published_at.is_(None))
            )
            return [row.event_type for row in rows]
    finally:
        await database.dispose()


@pytest.fixture
def shutdown_log() -> Iterator[list[logging.LogRecord]]:
    """What the shutdown logs (held on its own logger: the app's start replaces the
    root logger's handlers with its JSON one)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("nrm_runtime.shutdown")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


async def test_a_service_stops_while_still_connecting_to_a_broker_that_never_answers(
    make_app, silent_broker
) -> None:
    app = make_app(silent_broker)
    runtime = app.state.runtime

    async with running(app):
        # The connecting task has sent its first request; no answer will come.
        await asyncio.sleep(0.5)
        assert not runtime.broker.connected.is_set()

    assert tasks_left_running() == []


async def test_a_service_stops_mid_publish_and_the_unacknowledged_event_stays_in_the_outbox(
    make_app, silent_broker, database_url, case_opened, monkeypatch, shutdown_log
) -> None:
    producer = NeverAcknowledgingProducer()
    monkeypatch.setattr(Broker, "_new_producer", lambda _broker: producer)

    async def topics_exist(_broker: Broker, _topics: list[str]) -> None:
        return None

    monkeypatch.setattr(Broker, "ensure_topics", topics_exist)
    app = make_app(silent_broker)

    async with running(app):
        async with app.state.database.unit_of_work() as uow:
            uow.record(case_opened())
            await uow.commit()
        async with asyncio.timeout(STOP_BOUND_SECONDS):
            await producer.took_a_record.wait()

    assert producer.sent == ["nrm.referral"]
    # The flush waited one grace period, no longer, and said so.
    assert [(record.getMessage(), record.step) for record in shutdown_log] == [
        ("shutdown step did not finish in time", "stop the kafka producer")
    ]
    assert tasks_left_running() == []
    assert await unpublished_events(database_url) == ["kh.nrm.referral.case.opened.v1"]


async def test_a_task_that_will_not_end_is_logged_by_name_and_does_not_hold_the_stop(
    make_app, shutdown_log
) -> None:
    stubborn_tasks: list[asyncio.Task[Any]] = []

    async def stubborn(_database: Database) -> None:
        """Swallows its cancellation, as a retry loop catching too much would."""
        stubborn_tasks.append(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(3600)

    app = make_app("127.0.0.1:1", background=[stubborn])

    async with running(app):
        await asyncio.sleep(0.1)

    assert [(record.getMessage(), record.task) for record in shutdown_log] == [
        ("task did not end when cancelled; left behind", "background-stubborn")
    ]
    assert tasks_left_running() == [stubborn_tasks[0].get_name()]
    stubborn_tasks[0].cancel()  # the test's own clean-up: a second cancellation ends it
    await asyncio.gather(*stubborn_tasks, return_exceptions=True)
