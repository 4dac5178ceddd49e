"""The service's link to Kafka: one idempotent producer, topic provisioning, readiness.

A service must start and accept requests while the broker is down (the outbox holds the
events), so connecting is a background loop, not a start-up precondition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from nrm_runtime.settings import KafkaSecurityProtocol, ServiceSettings
from nrm_runtime.shutdown import bounded_step

log = logging.getLogger(__name__)

RECONNECT_BACKOFF_MAX_SECONDS = 5.0


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

    def __init__(self, settings: ServiceSettings, topics: list[str]) -> None:
        self.settings = settings
        self.topics = sorted(set(topics))
        self.connected = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None

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
                self.connected.set()
                log.info(
                    "connected to kafka", extra={"bootstrap": self.settings.kafka_bootstrap_servers}
                )
            except Exception as exc:  # noqa: BLE001 - any failure means: try again later
                log.warning("kafka not reachable, retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_BACKOFF_MAX_SECONDS)

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=self.settings.service_name,
            # Idempotence implies acks=all: a record is durable on every in-sync replica,
            # and retries never duplicate or reorder it within its partition.
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            request_timeout_ms=15_000,
            **kafka_client_options(self.settings),
        )

    async def ensure_topics(self, topics: list[str]) -> None:
        """Create ``topics`` when absent (the broker refuses to auto-create them)."""
        admin = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            client_id=f"{self.settings.service_name}-admin",
            request_timeout_ms=10_000,
            **kafka_client_options(self.settings),
        )
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [topic for topic in topics if topic not in existing]
            if missing:
                new_topics = [
                    NewTopic(
                        name=topic,
                        num_partitions=self.settings.kafka_topic_partitions,
                        replication_factor=self.settings.kafka_replication_factor,
                    )
                    for topic in missing
                ]
                # Another service may have created one first: that is the same outcome.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(new_topics)
        finally:
            # Also after a failed or cancelled start: bootstrap may have opened connections.
            await bounded_step(
                admin.close(),
                what="close the kafka admin client",
                grace_seconds=self.settings.shutdown_grace_seconds,
            )

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
