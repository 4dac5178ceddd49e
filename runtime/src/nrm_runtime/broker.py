"""The service's link to Kafka: one idempotent producer, topic provisioning, readiness.

A service must start and accept requests while the broker is down (the outbox holds the
events), so connecting is a background loop, not a start-up precondition.

An idempotent producer does not survive every outage: once a record's delivery timed
out, its sequence numbers no longer match the broker's and every later send fails with
``OutOfOrderSequenceNumber``, for ever. Whoever sees a delivery fail hands the producer
to :meth:`Broker.recover`, which stops it (every record still in it fails, so nothing of
it can land after what the next one sends) and connects a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import (
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
)
from aiokafka.helpers import create_ssl_context

from nrm_runtime.durability import (
    Durability,
    Shortfall,
    TopicsNotDurable,
    refuse_unless_durable,
    topic_shortfalls,
)
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.settings import KafkaSecurityProtocol, ServiceSettings
from nrm_runtime.shutdown import bounded_step

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_MAX_SECONDS = 5.0
# Failures that belong to one record, not to the producer: a new producer would fail the
# same way. Any other delivery failure may have left the producer unusable.
RECORD_FAILURES = (
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    InvalidTopicError,
    TopicAuthorizationFailedError,
)


def spoils_the_producer(error: BaseException) -> bool:
    """Whether a delivery that failed with ``error`` calls for a new producer."""
    return not isinstance(error, RECORD_FAILURES)


def kafka_client_options(settings: ServiceSettings) -> dict[str, Any]:
    """How every Kafka client of the service connects: PLAINTEXT (dev default), or
    SASL_SSL with the service's own SCRAM principal, the broker checked against the CA."""
    if settings.kafka_security_protocol is KafkaSecurityProtocol.PLAINTEXT:
        return {"security_protocol": "PLAINTEXT"}
    cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
    return {
        "security_protocol": "SASL_SSL",
        "ssl_context": create_ssl_context(cafile=cafile),
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
    }


class Broker:
    """Owns the producer; ``connected`` is set once topics exist and the producer runs."""

    def __init__(
        self,
        settings: ServiceSettings,
        topics: list[str],
        metrics: ServiceMetrics | None = None,
        *,
        client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.topics = sorted(set(topics))
        self.metrics = metrics
        self.client_id = client_id or settings.service_name
        self.connected = asyncio.Event()
        # Existing topics below the durability they should have (log and /readyz detail).
        self.shortfalls: list[Shortfall] = []
        # Why production refuses the cluster's topics, while it does.
        self.refusal: str | None = None
        self._producer: AIOKafkaProducer | None = None
        self._recovering = asyncio.Lock()

    @property
    def producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise RuntimeError("not connected to Kafka yet")
        return self._producer

    async def connect(self) -> None:
        """Provision topics and start the producer, retrying until the broker answers."""
        backoff = 0.2
        while not self.connected.is_set():
            try:
                await self.ensure_topics(self.topics)
                producer = self._new_producer()
                try:
                    await producer.start()
                except BaseException:
                    # Cancelled mid-start too: a half-started producer keeps tasks running.
                    await stop_producer(producer, self.settings.shutdown_grace_seconds)
                    raise
                self._producer = producer
                self.refusal = None
                self.connected.set()
                log.info(
                    "connected to kafka", extra={"bootstrap": self.settings.kafka_bootstrap_servers}
                )
            except TopicsNotDurable as refused:
                # Not a start: the cluster may grow, and the outbox keeps the events.
                self.refusal = str(refused)
                log.critical("kafka topics refused", extra={"reason": self.refusal})
                await asyncio.sleep(RECONNECT_BACKOFF_MAX_SECONDS)
            except Exception as exc:  # noqa: BLE001 - any failure means: try again later
                log.warning("kafka not reachable, retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_SECONDS)

    async def check_durability(self, wait_seconds: float) -> None:
        """At start: raise :class:`TopicsNotDurable` if the cluster answers within
        ``wait_seconds`` and its topics would be refused; a cluster that does not answer
        yet is checked by :meth:`connect` once it does (it never uses refused topics)."""
        try:
            async with asyncio.timeout(wait_seconds):
                await self.ensure_topics(self.topics)
        except TopicsNotDurable:
            raise
        except Exception as exc:  # noqa: BLE001 - not reachable yet: connect checks later
            log.warning(
                "kafka not reachable at start; its topics are checked once it is",
                extra={"error": type(exc).__name__},
            )

    async def recover(self, failed: AIOKafkaProducer, cause: BaseException) -> None:
        """Replace ``failed`` by a new producer, unless someone already did.

        Everyone sending holds on to the producer it sent with and waits for its
        deliveries before calling this, so a key's later events go out on the new
        producer only after its earlier ones were acknowledged or failed on the old.
        Waits (reconnecting) until the broker answers again.
        """
        async with self._recovering:
            if self._producer is not failed:
                return
            self._producer = None
            self.connected.clear()
            log.warning(
                "kafka producer replaced after a failed delivery",
                extra={"client": self.client_id, "error": type(cause).__name__},
            )
            if self.metrics is not None:
                self.metrics.producer_recoveries.labels(client=self.client_id).inc()
            await stop_producer(failed, self.settings.shutdown_grace_seconds)
            await self.connect()

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=self.client_id,
            # Idempotence implies acks=all: a record is durable on every in-sync replica,
            # and retries never duplicate or reorder it within its partition.
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            # Also how long a record may wait for a broker before its delivery fails.
            request_timeout_ms=self.settings.kafka_request_timeout_ms,
            **kafka_client_options(self.settings),
        )

    async def ensure_topics(self, topics: list[str]) -> None:
        """Create ``topics`` when absent (the broker refuses to auto-create them), with
        the cluster's durability; report the existing ones that fall short of it."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.settings.service_name}-admin",
            request_timeout_ms=10_000,
            **kafka_client_options(self.settings),
        )
        try:
            await admin.start()
            brokers = len((await admin.describe_cluster())["brokers"])
            durability = Durability.for_cluster(self.settings, brokers)
            refuse_unless_durable(self.settings, durability)
            existing = set(await admin.list_topics())
            missing = [topic for topic in topics if topic not in existing]
            if missing:
                new_topics = [
                    NewTopic(
                        name=topic,
                        num_partitions=self.settings.kafka_topic_partitions,
                        replication_factor=durability.replication_factor,
                        topic_configs=durability.topic_configs(),
                    )
                    for topic in missing
                ]
                # Another service may have created one first: that is the same outcome.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new_topics)
            present = [topic for topic in topics if topic in existing]
            await self._report_shortfalls(await topic_shortfalls(admin, present, durability))
        finally:
            # Also after a failed or cancelled start: bootstrap may have opened connections.
            await bounded_step(
                admin.close(),
                what="close the kafka admin client",
                grace_seconds=self.settings.shutdown_grace_seconds,
            )

    async def _report_shortfalls(self, shortfalls: list[Shortfall]) -> None:
        known = {shortfall.topic for shortfall in self.shortfalls}
        for shortfall in shortfalls:
            if shortfall.topic not in known:
                log.warning(
                    "kafka topic keeps fewer copies than it should",
                    extra={"topic": shortfall.topic, "found": shortfall.describe()},
                )
        self.shortfalls = sorted(
            {s.topic: s for s in [*self.shortfalls, *shortfalls]}.values(), key=lambda s: s.topic
        )
        if shortfalls:
            # An existing topic is as weak as its fewest copies, whatever new ones get.
            weakest = min(shortfall.replication_factor for shortfall in shortfalls)
            refuse_unless_durable(self.settings, Durability(weakest, 1))

    async def is_reachable(self, wait_seconds: float = 2.0) -> bool:
        """Whether the broker answers a metadata request now (for ``/readyz``)."""
        if self._producer is None:
            return False
        try:
            return bool(
                await asyncio.wait_for(self._producer.client.force_metadata_update(), wait_seconds)
            )
        except (TimeoutError, Exception):  # noqa: BLE001
            return False

    async def close(self) -> None:
        """Stop the producer, waiting at most ``shutdown_grace_seconds`` for its flush.

        Records the broker has not acknowledged by then are the relay's to send again:
        their events are still unpublished in the outbox.
        """
        producer, self._producer = self._producer, None
        self.connected.clear()
        if producer is not None:
            await stop_producer(producer, self.settings.shutdown_grace_seconds)


async def stop_producer(producer: AIOKafkaProducer, grace_seconds: float) -> None:
    """Stop ``producer`` (flush, then close), bounded: a broker that never answers would
    hold the flush for ever."""
    await bounded_step(producer.stop(), what="stop the kafka producer", grace_seconds=grace_seconds)
