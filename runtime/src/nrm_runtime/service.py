"""``create_service_app``: the one place where a service's parts are wired together.

A service declares what it is (settings, tables, routes, the topic it owns, what it
subscribes to); this module gives it the runtime: database, outbox relay, consumers,
authentication, tracing, logs, health and metrics, started and stopped with the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from sqlalchemy import MetaData

from nrm_contracts import Topic
from nrm_contracts.events.audit import TREE_HEADS, audit_topic
from nrm_runtime.audit_heads import HeadSigner
from nrm_runtime.audit_sequencer import AuditSequencer
from nrm_runtime.auth import JwksUrl, TokenVerifier
from nrm_runtime.broker import Broker
from nrm_runtime.consumer import EventConsumer, Subscription
from nrm_runtime.database import Database
from nrm_runtime.errors import error_responses, install_error_handlers
from nrm_runtime.failure_sharing import SharedFailureCounts
from nrm_runtime.hardening import AuthFailureLimiter, install_hardening
from nrm_runtime.health import health_router
from nrm_runtime.load_shedding import LoadShedding
from nrm_runtime.logs import configure_logging
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.organisations import OrganisationRegistry
from nrm_runtime.relay import OutboxRelay
from nrm_runtime.schema import MigrationHistory, runtime_history
from nrm_runtime.settings import Environment, ServiceSettings
from nrm_runtime.shutdown import cancel_and_wait
from nrm_runtime.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger(__name__)

UNTRACED_PATHS = "healthz,readyz,metrics"
# How long a production start waits for the cluster to say whether its topics are durable.
DURABILITY_CHECK_SECONDS = 10.0

DatabaseTask = Callable[[Database], Coroutine[Any, Any, None]]
"""A service's own start-up step or background task; it receives the service's database."""


@dataclass(frozen=True)
class ServiceDefinition:
    """What a service is, for the runtime to run it."""

    title: str
    description: str
    settings: ServiceSettings
    tables: MetaData
    owned_topic: Topic
    migrations: Path
    routers: list[APIRouter] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    version: str = "0.1.0"
    # Awaited in order after the migrations, before the app serves (e.g. reference data).
    on_start: list[DatabaseTask] = field(default_factory=list)
    # Run for the process's life beside the relay and consumers (e.g. expiry sweeps); one
    # that ends or fails makes the service not alive.
    background: list[DatabaseTask] = field(default_factory=list)


class ServiceRuntime:
    """The running parts of one service process, kept on ``app.state.runtime``."""

    def __init__(self, definition: ServiceDefinition) -> None:
        settings = definition.settings
        self.settings = settings
        self.metrics = ServiceMetrics()
        self.database = Database(
            settings.database_url,
            service_metadata=definition.tables,
            event_source=f"/nrm/{settings.service_name}",
        )
        # The audit log's signed heads go to a topic of their own beside the service's.
        head_event = TREE_HEADS.get(definition.owned_topic)
        topics = [str(definition.owned_topic)]
        if head_event is not None:
            topics.append(audit_topic(definition.owned_topic))
        for subscription in definition.subscriptions:
            topics += [*subscription.topics, *subscription.dead_letter_topics()]
        self.broker = Broker(settings, [settings.topic(name) for name in topics], self.metrics)
        self.relay = OutboxRelay(
            self.database,
            self.broker,
            self.metrics,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            retention=timedelta(hours=settings.outbox_retention_hours),
            stuck_after=timedelta(seconds=settings.outbox_stuck_seconds),
        )
        self.audit_sequencer = AuditSequencer(
            self.database,
            audit_signer(settings),
            log_id=settings.service_name,
            head_event=head_event,
            batch_size=settings.audit_batch_size,
            interval_seconds=settings.audit_sequencer_seconds,
        )
        self.consumers = [
            EventConsumer(subscription, settings, self.database, self.broker, self.metrics)
            for subscription in definition.subscriptions
        ]
        self.migration_histories = [
            runtime_history(),
            MigrationHistory(
                settings.service_name, definition.migrations, definition.tables, "alembic_version"
            ),
        ]
        self._on_start = list(definition.on_start)
        self._background = list(definition.background)
        self.address_failures = AuthFailureLimiter(
            settings.auth_failure_limit, settings.auth_failure_window_seconds
        )
        self.credential_failures = self.address_failures.like_this()
        self.failure_sharing = SharedFailureCounts(
            {"address": self.address_failures, "credential": self.credential_failures},
            settings.auth_failure_share_seconds,
        )
        self._connecting: asyncio.Task[None] | None = None
        self._workers: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.database.migrate(self.migration_histories)
        for step in self._on_start:
            await step(self.database)
        if self.settings.environment is Environment.PRODUCTION:
            # Refuse to start on topics that keep too few copies, when the cluster can
            # tell; one that cannot yet is checked by the connecting task.
            await self.broker.check_durability(DURABILITY_CHECK_SECONDS)
        # The connecting task ends once connected; the workers run for the process's life.
        self._connecting = asyncio.create_task(self.broker.connect(), name="kafka-connect")
        self._workers = [
            asyncio.create_task(self.relay.run(), name="outbox-relay"),
            asyncio.create_task(
                self.failure_sharing.run(self.database), name="failed-authentication-sharing"
            ),
            asyncio.create_task(self.audit_sequencer.run(), name="audit-sequencer"),
            *(
                asyncio.create_task(consumer.run(), name=f"consumer-{consumer.group}")
                for consumer in self.consumers
            ),
            *(
                asyncio.create_task(task(self.database), name=f"background-{_task_name(task)}")
                for task in self._background
            ),
        ]

    async def stop(self) -> None:
        """Stop in bounded time: the tasks, then the Kafka producer, then the database.

        Each wait lasts at most ``shutdown_grace_seconds``; what has not ended by then is
        logged and left behind (see :mod:`nrm_runtime.shutdown`). Nothing unsent is lost:
        an event leaves the outbox only once the broker has acknowledged it.
        """
        tasks = [*self._workers, *([self._connecting] if self._connecting else [])]
        await cancel_and_wait(tasks, grace_seconds=self.settings.shutdown_grace_seconds)
        await self.broker.close()
        await self.database.dispose()

    def _workers_alive(self) -> bool:
        return all(not task.done() for task in self._workers)

    async def alive(self) -> bool:
        return self._workers_alive() and not any(
            c.is_stalled() for c in self.consumers if c.running
        )

    async def database_ready(self) -> bool:
        return await self.database.ping()

    async def broker_ready(self) -> bool:
        return await self.broker.is_reachable()

    async def outbox_ready(self) -> bool:
        try:
            return await self.relay.is_moving()
        except Exception:  # noqa: BLE001 - the database check reports an unreachable one
            return False

    def readiness_details(self) -> dict[str, Any]:
        details: dict[str, Any] = {}
        if self.broker.shortfalls:
            details["topics_below_durability"] = {
                shortfall.topic: shortfall.describe() for shortfall in self.broker.shortfalls
            }
        if self.broker.refusal:
            details["kafka_refused"] = self.broker.refusal
        # Said, not failed on: in a surge every replica is behind, and a load balancer
        # that took them all out would turn a slow service into none.
        lag = {consumer.group: consumer.behind for consumer in self.consumers if consumer.lag}
        if any(lag.values()):
            details["consumer_lag"] = lag
            details["consumers_behind"] = any(
                behind >= self.settings.consumer_behind_records for behind in lag.values()
            )
        return details

    async def consumers_ready(self) -> bool:
        return self._workers_alive() and all(consumer.running for consumer in self.consumers)


def create_service_app(definition: ServiceDefinition) -> FastAPI:
    """A FastAPI app running ``definition`` on the shared runtime."""
    settings = definition.settings
    runtime = ServiceRuntime(definition)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.service_name, settings.log_level)
        await runtime.start()
        log.info("service started", extra={"port": settings.port})
        try:
            yield
        finally:
            try:
                await runtime.stop()
            finally:
                shutdown_tracing()

    app = FastAPI(
        title=definition.title,
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        # What any route may answer, whatever it does: the hardening's limits, a crash.
        responses=error_responses(413, 429, 500),
    )
    app.state.settings = settings
    app.state.runtime = runtime
    app.state.database = runtime.database
    app.state.audit_sequencer = runtime.audit_sequencer
    app.state.metrics = runtime.metrics
    app.state.organisations = (
        OrganisationRegistry.load(settings.organisations_file)
        if settings.organisations_file is not None
        else None
    )
    app.state.token_verifier = token_verifier(settings, app.state.organisations)
    install_error_handlers(app)
    app.include_router(
        health_router(
            liveness={"tasks": runtime.alive},
            readiness={
                "database": runtime.database_ready,
                "broker": runtime.broker_ready,
                "consumers": runtime.consumers_ready,
                "outbox": runtime.outbox_ready,
            },
            readiness_details=runtime.readiness_details,
        )
    )
    for router in definition.routers:
        app.include_router(router)
    app.middleware("http")(_request_metrics(runtime.metrics))
    configure_tracing(settings)
    FastAPIInstrumentor.instrument_app(app, excluded_urls=UNTRACED_PATHS)
    # After the instrumentation, which expects the error middleware outermost: the
    # hardening then wraps the instrumented stack, error answers included.
    install_hardening(
        app,
        max_body_bytes=settings.max_request_body_bytes,
        limiter=runtime.address_failures,
        credential_limiter=runtime.credential_failures,
        inner=partial(
            LoadShedding,
            max_in_flight=settings.max_in_flight_requests,
            in_flight=runtime.metrics.http_in_flight,
            shed=runtime.metrics.http_shed,
        ),
    )
    return app


def audit_signer(settings: ServiceSettings) -> HeadSigner:
    """The key that signs the audit log's heads: the settings' file (made on first use
    outside production), or a key of this process when there is no file to keep it in."""
    path = settings.audit_key_file()
    production = settings.environment is Environment.PRODUCTION
    if path is None:
        if production:
            raise ValueError("production needs audit_signing_key_file (or field_keys_file)")
        return HeadSigner.ephemeral()
    return HeadSigner.load(path, create=not production)


def _task_name(task: DatabaseTask) -> str:
    """A background task's name for the logs: its function's (``DeliveryWorker.run``)."""
    function = getattr(task, "func", task)  # a functools.partial names its function
    name = str(getattr(function, "__qualname__", type(function).__name__))
    return name.rsplit("<locals>.", 1)[-1]


def token_verifier(
    settings: ServiceSettings, organisations: OrganisationRegistry | None
) -> TokenVerifier:
    """The verifier the settings ask for: keys from the JWKS URL, else the JWKS file."""
    keys: Path | JwksUrl
    if settings.jwt_jwks_url is not None:
        keys = JwksUrl(
            settings.jwt_jwks_url,
            cache_seconds=settings.jwt_jwks_cache_seconds,
            min_refresh_seconds=settings.jwt_jwks_min_refresh_seconds,
            timeout_seconds=settings.jwt_jwks_timeout_seconds,
        )
    else:
        keys = settings.jwt_jwks_file  # type: ignore[assignment]  # set by the validator
    return TokenVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        algorithms=settings.jwt_algorithms,
        leeway=settings.jwt_leeway_seconds,
        organisations=organisations,
    )


def _request_metrics(
    metrics: ServiceMetrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def count_request(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        template = getattr(route, "path", "unmatched")
        metrics.http_requests.labels(request.method, template, str(response.status_code)).inc()
        metrics.http_latency.labels(request.method, template).observe(time.perf_counter() - started)
        return response

    return count_request
