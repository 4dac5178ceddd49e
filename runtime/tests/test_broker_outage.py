"""The relay and the service recover by themselves from a broker outage: real broker.

The outage is longer than the producer's delivery timeout, so the records in it fail
and an idempotent producer is left unusable (every later send: OutOfOrderSequenceNumber)
unless it is replaced; the events must still reach the topic once the broker is back,
without restarting anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import OutOfOrderSequenceNumber
from sqlalchemy import update

from nrm_contracts import Actor, Topic
from nrm_runtime.broker import Broker
from nrm_runtime.database import Database
from nrm_runtime.metrics import ServiceMetrics
from nrm_runtime.relay import OutboxRelay
from nrm_runtime.tables import outbox_table

DELIVERY_TIMEOUT_MS = 5_000
OUTAGE_SECONDS = 15.0
DRAIN_LIMIT_SECONDS = 45.0
CASE_MANAGER = Actor("mosvy", "case_manager")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # The outage is the subject here, not the engine: SQLite only, for time.
    return f"sqlite+aiosqlite:///{tmp_path / 'unit.db'}"


@pytest.fixture
def outage_settings(make_settings, database_url, restartable_kafka, topic_prefix):
    return make_settings(
        database_url=database_url,
        kafka_bootstrap_servers=restartable_kafka.bootstrap_servers,
        kafka_topic_prefix=topic_prefix,
        kafka_request_timeout_ms=DELIVERY_TIMEOUT_MS,
        shutdown_grace_seconds=3.0,
    )


@pytest.fixture
def commit_cases(database, case_opened, request_span):
    """``await commit_cases(ids)``: one committed ReferralCaseOpened per case id, in order."""

    async def _commit(case_ids: list[str]) -> None:
        with request_span():
            async with database.unit_of_work(CASE_MANAGER) as uow:
                for case_id in case_ids:
                    uow.record(case_opened(case_id))
                await uow.commit()

    return _commit


@contextlib.asynccontextmanager
async def relaying(
    database: Database, broker: Broker, metrics: ServiceMetrics
) -> AsyncIterator[OutboxRelay]:
    relay = OutboxRelay(database, broker, metrics, poll_seconds=0.5)
    tasks = [asyncio.create_task(broker.connect()), asyncio.create_task(relay.run())]
    try:
        yield relay
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await broker.close()


async def unpublished(database: Database) -> int:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            outbox_table.select().where(outbox_table.c.published_at.is_(None))
        )
        return len(rows.all())


async def wait_for_empty_outbox(database: Database, within: float) -> float:
    """Seconds until every event is published; fails after ``within``."""
    started = time.monotonic()
    async with asyncio.timeout(within):
        while await unpublished(database):  # noqa: ASYNC110 - the relay works meanwhile
            await asyncio.sleep(0.2)
    return time.monotonic() - started


async def records_on_topic(bootstrap: str, topic: str) -> list[tuple[str, bytes]]:
    """Every (key, value) on ``topic``, each partition in its order, read until quiet."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    records: list[tuple[str, bytes]] = []
    try:
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3.0:
            batches = await consumer.getmany(timeout_ms=500)
            for batch in batches.values():
                records += [(r.key.decode(), r.value) for r in batch]
                quiet_since = time.monotonic()
    finally:
        await consumer.stop()
    return records


async def outbox_sequences(database: Database) -> dict[bytes, tuple[str, int]]:
    async with database.engine.connect() as connection:
        rows = (await connection.execute(outbox_table.select())).all()
    return {row.message_value: (row.message_key, row.sequence) for row in rows}


def gaps_in_key_order(records: list[tuple[str, bytes]], sequences: dict[bytes, tuple[str, int]]):
    """The records that reached the topic before an earlier event of their key did."""
    by_key: dict[str, list[int]] = defaultdict(list)
    for key, sequence in sequences.values():
        by_key[key].append(sequence)
    seen: dict[str, set[int]] = defaultdict(set)
    gaps = []
    for key, value in records:
        _, sequence = sequences[value]
        earlier = {s for s in by_key[key] if s < sequence}
        if not earlier <= seen[key]:
            gaps.append((key, sequence))
        seen[key].add(sequence)
    return gaps


async def stopped_broker(cluster) -> None:
    await asyncio.to_thread(cluster.stop_node, 0)


async def started_broker(cluster) -> None:
    await asyncio.to_thread(cluster.start_node, 0)


async def test_the_relay_publishes_what_an_outage_longer_than_the_delivery_timeout_held(
    outage_settings, database, metrics, commit_cases, restartable_kafka
) -> None:
    topic = outage_settings.topic(Topic.REFERRAL)
    broker = Broker(outage_settings, [topic], metrics)
    cases = [str(uuid.uuid4()) for _ in range(7)]
    before = cases[:5]
    during = [cases[n % 7] for n in range(40)]  # several events per key, interleaved
    async with relaying(database, broker, metrics):
        await commit_cases(before)
        await wait_for_empty_outbox(database, within=30)

        await stopped_broker(restartable_kafka)
        try:
            await commit_cases(during[:20])
            await asyncio.sleep(OUTAGE_SECONDS / 2)
            await commit_cases(during[20:])
            await asyncio.sleep(OUTAGE_SECONDS / 2)
        finally:
            await started_broker(restartable_kafka)
        back = time.monotonic()
        await wait_for_empty_outbox(database, within=DRAIN_LIMIT_SECONDS)
        drained = time.monotonic() - back

    records = await records_on_topic(outage_settings.kafka_bootstrap_servers, topic)
    sequences = await outbox_sequences(database)
    assert {value for _, value in records} == set(sequences)  # every event, none lost
    # Per key, no event before an earlier one of its key (duplicates are the consumers'
    # to skip): a failed event is republished with every later one of its key.
    assert gaps_in_key_order(records, sequences) == []
    recoveries = metrics.registry.get_sample_value(
        "nrm_kafka_producer_recoveries_total", {"client": "unit"}
    )
    failures = metrics.registry.get_sample_value("nrm_outbox_publish_failures_total")
    print(
        f"drained {len(during)} events {drained:.1f} s after the broker returned; "
        f"{failures} failed passes, {recoveries} producer recoveries"
    )


async def test_the_relay_replaces_a_producer_that_fails_every_delivery(
    outage_settings, database, metrics, commit_cases, monkeypatch
) -> None:
    # The state an idempotent producer is left in after delivery timeouts: connected,
    # and every send answered OutOfOrderSequenceNumber, for ever.
    topic = outage_settings.topic(Topic.REFERRAL)
    broker = Broker(outage_settings, [topic], metrics)
    async with relaying(database, broker, metrics):
        await broker.connected.wait()
        spoiled = broker.producer

        async def out_of_order(*_args: object, **_kwargs: object) -> asyncio.Future[None]:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            future.set_exception(OutOfOrderSequenceNumber())
            return future

        monkeypatch.setattr(spoiled, "send", out_of_order)
        await commit_cases([str(uuid.uuid4()) for _ in range(10)])
        await wait_for_empty_outbox(database, within=30)
        assert broker.producer is not spoiled

    assert (
        metrics.registry.get_sample_value("nrm_kafka_producer_recoveries_total", {"client": "unit"})
        == 1
    )


async def test_the_outbox_is_reported_stuck_while_the_broker_is_up_and_moving_after(
    outage_settings, database, metrics
) -> None:
    topic = outage_settings.topic(Topic.REFERRAL)
    broker = Broker(outage_settings, [topic], metrics)
    async with relaying(database, broker, metrics) as relay:
        relay.stuck_after = timedelta(seconds=2)
        await broker.connected.wait()
        # A record no producer accepts (beyond the 1 MB request limit): stuck with the
        # broker up, the case the broker check alone never saw.
        async with database.engine.begin() as connection:
            await connection.execute(
                outbox_table.insert().values(
                    event_id=str(uuid.uuid4()),
                    event_type="nrm.referral.case-opened",
                    topic=str(Topic.REFERRAL),
                    message_key=str(uuid.uuid4()),
                    message_value=b"x" * 2_000_000,
                    content_type="application/cloudevents+json",
                    traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                )
            )
        relay.wake()
        async with asyncio.timeout(10):
            while await relay.is_moving():  # noqa: ASYNC110
                await asyncio.sleep(0.2)
        assert await broker.is_reachable()

        async with database.engine.begin() as connection:
            await connection.execute(update(outbox_table).values(message_value=b"{}"))
        relay.wake()
        await wait_for_empty_outbox(database, within=10)
        assert await relay.is_moving()
