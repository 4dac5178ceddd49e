"""The idempotent consumer: at-least-once delivery made exactly-once in effect.

For each record: parse the envelope against the contracts; in one transaction, skip it
if this consumer group already processed the event, else run the handler and write the
tracking record; commit the offsets only after the database commit. A record that can
never be processed (invalid, or failing every bounded retry) is parked in the
dead-letter topic with the reason, and the consumer goes on with the next one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from opentelemetry.trace import SpanKind, Status, StatusCode

from nrm_contracts import Envelope, EventPayload, InvalidEvent, dead_letter_topic
from nrm_runtime.broker import Broker, kafka_client_options
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.settings import ServiceSettings
from nrm_runtime.shutdown import bounded_step
from nrm_runtime.tracing import span_from_traceparent

log = logging.getLogger(__name__)

Handler = Callable[[Any, UnitOfWork], Awaitable[None]]
"""A handler receives the event's payload and the unit of work it must do its work in."""

DEAD_LETTER_HEADER_PREFIX = "nrm.dlq."


@dataclass(frozen=True)
class Subscription:
    """What a consumer group reads and how it handles each event type."""

    consumer_group: str
    topics: tuple[str, ...]
    handlers: Mapping[type[EventPayload], Handler]

    def dead_letter_topics(self) -> list[str]:
        return [dead_letter_topic(topic, self.consumer_group) for topic in self.topics]


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit what was processed before partitions move to another member."""

    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._consumer.commit_processed()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        log.info(
            "partitions assigned",
            extra={"partitions": [f"{tp.topic}:{tp.partition}" for tp in assigned]},
        )


class EventConsumer:
    """One consumer-group member running a :class:`Subscription`."""

    def __init__(
        self,
        subscription: Subscription,
        settings: ServiceSettings,
        database: Database,
        broker: Broker,
        metrics: ServiceMetrics,
    ) -> None:
        self.subscription = subscription
        self.settings = settings
        self.database = database
        self.broker = broker
        self.metrics = metrics
        self.running = False
        self.last_progress = time.monotonic()
        self._consumer: AIOKafkaConsumer | None = None
        self._next_offsets: dict[TopicPartition, int] = {}
        # Records not yet processed, per assigned partition, as of the last poll.
        self.lag: dict[TopicPartition, int] = {}

    @property
    def group(self) -> str:
        return self.subscription.consumer_group

    def is_stalled(self) -> bool:
        """No poll completed for longer than the stall limit: the liveness signal."""
        return time.monotonic() - self.last_progress > self.settings.consumer_stall_seconds

    async def run(self) -> None:
        """Consume until cancelled; reconnect when the broker goes away."""
        await self.broker.connected.wait()
        while True:
            consumer = self._new_consumer()
            try:
                await consumer.start()
                self._consumer = consumer
                self.running = True
                await self._poll_loop(consumer)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "consumer failed; restarting", extra={"group": self.group}, exc_info=True
                )
                await asyncio.sleep(1.0)
            finally:
                self.running = False
                self.lag = {}
                # Commit what was processed while the consumer is still ours, then stop.
                await _stop_quietly(
                    consumer, self.commit_processed, self.settings.shutdown_grace_seconds
                )
                self._consumer = None

    def _new_consumer(self) -> AIOKafkaConsumer:
        return AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=self.group,
            client_id=f"{self.settings.service_name}-{self.group}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=max(self.settings.kafka_session_timeout_ms // 4, 500),
            max_poll_records=200,
            **kafka_client_options(self.settings),
        )

    async def _poll_loop(self, consumer: AIOKafkaConsumer) -> None:
        topics = [self.settings.topic(name) for name in self.subscription.topics]
        consumer.subscribe(topics, listener=_CommitOnRevoke(self))
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for partition, records in batches.items():
                for record in records:
                    await self.process(record)
                    self._next_offsets[partition] = record.offset + 1
                    self.last_progress = time.monotonic()
            await self.commit_processed()
            try:
                await self._measure_lag(consumer)
            except Exception:
                log.debug("lag not measured", exc_info=True)
            self.last_progress = time.monotonic()

    @property
    def behind(self) -> int:
        """Records on the assigned partitions not yet processed."""
        return sum(self.lag.values())

    async def _measure_lag(self, consumer: AIOKafkaConsumer) -> None:
        # The high watermark comes with every fetch; the position is local: no round trip.
        lag = {}
        for partition in consumer.assignment():
            highwater = consumer.highwater(partition)
            if highwater is None:
                continue
            lag[partition] = max(highwater - await consumer.position(partition), 0)
            self.metrics.consumer_lag.labels(
                self.group, partition.topic, str(partition.partition)
            ).set(lag[partition])
        self.lag = lag

    async def commit_processed(self) -> None:
        """Commit offset+1 of every record whose effect is committed in the database."""
        if self._consumer is None or not self._next_offsets:
            return
        offsets, self._next_offsets = self._next_offsets, {}
        assigned = self._consumer.assignment()
        owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if owned:
            await self._consumer.commit(owned)

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Process one record to its end: effect committed, ignored, or dead-lettered."""
        try:
            envelope = Envelope.from_kafka(record.key, record.value, _headers(record))
        except InvalidEvent as invalid:
            await self.dead_letter(record, invalid.reason)
            return
        handler = self.subscription.handlers.get(type(envelope.data))
        if handler is None:
            self._count(record, "ignored")  # a valid event this group has no business with
            return
        with span_from_traceparent(
            f"process {envelope.type}", envelope.traceparent, SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.system", "kafka")
            span.set_attribute("messaging.destination.name", record.topic)
            span.set_attribute("messaging.consumer.group.name", self.group)
            span.set_attribute("cloudevents.event_id", envelope.id)
            failure = await self._handle_with_retries(handler, envelope, record)
            if failure is not None:
                span.set_status(Status(StatusCode.ERROR, failure))
                await self.dead_letter(record, failure)

    async def _handle_with_retries(
        self, handler: Handler, envelope: Envelope, record: ConsumerRecord[bytes, bytes]
    ) -> str | None:
        """Run the handler in a transaction; return None on success, else the reason."""
        attempts = self.settings.consumer_max_attempts
        for attempt in range(1, attempts + 1):
            try:
                outcome = await self._handle_once(handler, envelope, record)
                self._count(record, outcome)
                return None
            except Exception as exc:  # noqa: BLE001 - every failure is retried, then parked
                if attempt == attempts:
                    log.error(
                        "handler failed; dead-lettering",
                        extra={
                            "group": self.group,
                            "event_id": envelope.id,
                            "error": type(exc).__name__,
                        },
                    )
                    # The exception's type, not its text: database errors quote the values
                    # they failed on, and those can be personal data.
                    return f"handler failed after {attempts} attempts: {type(exc).__name__}"
                self.metrics.handler_retries.labels(self.group, record.topic).inc()
                await asyncio.sleep(
                    self.settings.consumer_retry_backoff_seconds * 2 ** (attempt - 1)
                )
        raise AssertionError("unreachable")

    async def _handle_once(
        self, handler: Handler, envelope: Envelope, record: ConsumerRecord[bytes, bytes]
    ) -> str:
        async with self.database.unit_of_work(actor=envelope.actor) as uow:
            if await uow.already_processed(self.group, envelope):
                return "duplicate"
            await handler(envelope.data, uow)
            await uow.mark_processed(
                self.group,
                envelope,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )
            await uow.commit()
        return "processed"

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], reason: str) -> None:
        """Park ``record`` unchanged in this group's dead-letter topic, with the reason.

        The offset moves on only once the broker has the dead-letter record, so a record
        is never lost between the two topics.
        """
        target = dead_letter_topic(record.topic, self.group)
        headers = [
            *(record.headers or ()),
            (f"{DEAD_LETTER_HEADER_PREFIX}reason", reason.encode()),
            (f"{DEAD_LETTER_HEADER_PREFIX}topic", record.topic.encode()),
            (f"{DEAD_LETTER_HEADER_PREFIX}partition", str(record.partition).encode()),
            (f"{DEAD_LETTER_HEADER_PREFIX}offset", str(record.offset).encode()),
            (f"{DEAD_LETTER_HEADER_PREFIX}consumer-group", self.group.encode()),
        ]
        await self.broker.producer.send_and_wait(
            target, value=record.value, key=record.key, headers=headers
        )
        log.warning(
            "record dead-lettered",
            extra={
                "group": self.group,
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason,
            },
        )
        self._count(record, "dead_lettered")

    def _count(self, record: ConsumerRecord[bytes, bytes], outcome: str) -> None:
        self.metrics.events_consumed.labels(self.group, record.topic, outcome).inc()


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, bytes]:
    return {name: value for name, value in (record.headers or ())}


async def _stop_quietly(
    consumer: AIOKafkaConsumer, commit: Callable[[], Awaitable[None]], grace_seconds: float
) -> None:
    """Commit, then stop, each bounded (half the grace each, to end within the runtime's
    wait): a coordinator that never answers would hold either for ever. Offsets not
    committed only mean records processed again, and skipped as duplicates."""
    await bounded_step(commit(), what="commit consumer offsets", grace_seconds=grace_seconds / 2)
    await bounded_step(
        consumer.stop(), what="stop the kafka consumer", grace_seconds=grace_seconds / 2
    )
