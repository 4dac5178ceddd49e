"""The outbox relay: committed events reach their topics in commit order per key, at least once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    MessageSizeTooLargeError,
    OutOfOrderSequenceNumber,
)

from nrm_contracts import Actor
from nrm_runtime.database import Database
from nrm_runtime.relay import BatchNotPublished, OutboxRelay, _published_in_key_order

CASE_A = "aaaaaaaa-0000-4000-8000-000000000001"
CASE_B = "bbbbbbbb-0000-4000-8000-000000000002"
CASE_C = "cccccccc-0000-4000-8000-000000000003"
CASE_MANAGER = Actor("mosvy", "case_manager")
# Far longer than any test may take: a publish within the timeout was not the poll's doing.
LONG_POLL_SECONDS = 30.0
TIMEOUT = 5.0


@pytest.fixture
def relay(database, broker, metrics) -> OutboxRelay:
    return OutboxRelay(database, broker, metrics, batch_size=100, poll_seconds=LONG_POLL_SECONDS)


@pytest.fixture
def commit_events(database, case_opened, request_span):
    """``await commit_events(CASE_A, CASE_B)``: one committed event per case id, in order."""

    async def _commit(*case_ids: str, into: Database | None = None) -> list[str]:
        with request_span():
            async with (into or database).unit_of_work(CASE_MANAGER) as uow:
                envelopes = [uow.record(case_opened(case_id)) for case_id in case_ids]
                await uow.commit()
        return [envelope.id for envelope in envelopes]

    return _commit


@contextlib.asynccontextmanager
async def running(relay: OutboxRelay):
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def keys(records) -> list[str]:
    return [record.key.decode() for record in records]


def unpublished_keys(rows) -> list[str]:
    return [row.message_key for row in rows if row.published_at is None]


def failing_key(key: str, error: BaseException):
    return lambda record: error if record.key == key.encode() else None


async def test_publishes_in_sequence_order_and_marks_rows_published(
    relay, producer, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A, CASE_B)
    await commit_events(CASE_A, CASE_C)

    published = await relay.publish_pending()

    assert published == 4
    assert keys(producer.delivered) == [CASE_A, CASE_B, CASE_A, CASE_C]
    assert [row.message_value for row in await read_outbox()] == [
        record.value for record in producer.delivered
    ]
    assert unpublished_keys(await read_outbox()) == []


async def test_a_second_pass_publishes_nothing(relay, producer, commit_events) -> None:
    await commit_events(CASE_A, CASE_B)
    await relay.publish_pending()

    assert await relay.publish_pending() == 0
    assert len(producer.delivered) == 2


async def test_a_record_carries_key_content_type_and_traceparent_on_the_prefixed_topic(
    database, metrics, broker, make_settings, database_url, commit_events, read_outbox
) -> None:
    broker.settings = make_settings(database_url=database_url, kafka_topic_prefix="t42.")
    relay = OutboxRelay(database, broker, metrics)
    await commit_events(CASE_A)
    [row] = await read_outbox()

    await relay.publish_pending()

    [record] = broker.producer.delivered
    assert record.topic == "t42.nrm.referral"
    assert record.key == CASE_A.encode()
    assert record.value == row.message_value
    assert dict(record.headers) == {
        "content-type": b"application/cloudevents+json",
        "traceparent": row.traceparent.encode(),
    }


async def test_a_batch_publishes_at_most_batch_size_events_oldest_first(
    database, broker, metrics, producer, commit_events
) -> None:
    relay = OutboxRelay(database, broker, metrics, batch_size=2)
    await commit_events(CASE_A, CASE_B, CASE_C)

    assert await relay.publish_pending() == 2
    assert await relay.publish_pending() == 1
    assert keys(producer.delivered) == [CASE_A, CASE_B, CASE_C]


async def test_a_failed_delivery_holds_back_its_key_from_the_failure_on(
    relay, producer, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A, CASE_B, CASE_A, CASE_B)
    producer.delivery_failure = failing_key(CASE_A, KafkaConnectionError())

    with pytest.raises(BatchNotPublished, match="2 of 4 events not published") as failure:
        await relay.publish_pending()

    assert isinstance(failure.value.cause, KafkaConnectionError)
    assert unpublished_keys(await read_outbox()) == [CASE_A, CASE_A]


async def test_a_later_failure_of_a_key_keeps_its_earlier_events_published(
    relay, producer, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A, CASE_B, CASE_A)
    [_, _, second_of_a] = await read_outbox()
    producer.delivery_failure = lambda record: (
        KafkaConnectionError() if record.value == second_of_a.message_value else None
    )

    with pytest.raises(BatchNotPublished):
        await relay.publish_pending()

    assert [row.published_at is None for row in await read_outbox()] == [False, False, True]


async def test_held_back_events_are_published_in_order_on_the_next_pass(
    relay, producer, commit_events, read_outbox
) -> None:
    first_a, _, second_a = await commit_events(CASE_A, CASE_B, CASE_A)
    producer.delivery_failure = failing_key(CASE_A, KafkaConnectionError())
    with pytest.raises(BatchNotPublished):
        await relay.publish_pending()
    producer.delivery_failure = lambda _record: None
    producer.delivered.clear()

    assert await relay.publish_pending() == 2
    assert keys(producer.delivered) == [CASE_A, CASE_A]
    assert [row.event_id for row in await read_outbox()][::2] == [first_a, second_a]
    assert unpublished_keys(await read_outbox()) == []


async def test_a_record_the_producer_refuses_holds_back_only_its_own_key(
    relay, producer, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A, CASE_B, CASE_C)
    producer.refusal = failing_key(CASE_B, MessageSizeTooLargeError())

    with pytest.raises(BatchNotPublished):
        await relay.publish_pending()

    assert unpublished_keys(await read_outbox()) == [CASE_B]


async def test_a_failed_delivery_hands_the_producer_for_recovery_with_its_real_cause(
    relay, broker, producer, commit_events
) -> None:
    await commit_events(CASE_A, CASE_A, CASE_B)
    spoiled = OutOfOrderSequenceNumber()
    producer.delivery_failure = failing_key(CASE_A, spoiled)

    with pytest.raises(BatchNotPublished) as failure:
        await relay.publish_pending()

    assert failure.value.cause is spoiled
    assert broker.recoveries == [spoiled]


async def test_a_record_too_large_for_any_producer_keeps_the_producer(
    relay, broker, producer, commit_events
) -> None:
    await commit_events(CASE_A, CASE_B)
    producer.delivery_failure = failing_key(CASE_B, MessageSizeTooLargeError())

    with pytest.raises(BatchNotPublished):
        await relay.publish_pending()

    assert broker.recoveries == []


async def test_the_outbox_is_moving_while_the_relay_publishes_or_nothing_is_old(
    database, broker, metrics, producer, commit_events
) -> None:
    relay = OutboxRelay(database, broker, metrics, stuck_after=timedelta(seconds=0.2))
    await commit_events(CASE_A)
    assert await relay.is_moving()  # the relay has just started

    producer.delivery_failure = failing_key(CASE_A, KafkaConnectionError())
    await asyncio.sleep(0.3)
    with pytest.raises(BatchNotPublished):
        await relay.publish_pending()
    assert not await relay.is_moving()  # old, and no pass succeeded for as long

    producer.delivery_failure = lambda _record: None
    assert await relay.publish_pending() == 1
    assert await relay.is_moving()


KEY_ORDER_CASES = [
    # (keys of the batch in sequence order, which deliveries fail, keys counted published)
    (["A", "B", "A"], [], ["A", "B", "A"]),
    (["A", "B", "A"], [0], ["B"]),
    (["A", "B", "A"], [2], ["A", "B"]),
    (["A", "A", "A"], [1], ["A"]),
    (["A", "B", "A", "B"], [1], ["A", "A"]),
    (["A", "B", "C"], [0, 2], ["B"]),
    (["A", "A", "B"], [0, 1], ["B"]),
    ([], [], []),
]


@pytest.mark.parametrize(("batch", "failed", "published"), KEY_ORDER_CASES)
def test_published_in_key_order_counts_a_key_only_up_to_its_first_failure(
    batch, failed, published
) -> None:
    rows = [SimpleNamespace(sequence=i, message_key=key) for i, key in enumerate(batch)]
    outcomes = [KafkaConnectionError() if i in failed else object() for i in range(len(batch))]

    counted = _published_in_key_order(rows, outcomes)

    assert [row.message_key for row in counted] == published
    assert [row.sequence for row in counted] == sorted(row.sequence for row in counted)


# --- the running relay ---------------------------------------------------------------------


async def test_a_commit_wakes_the_relay_without_waiting_for_the_poll(
    relay, producer, commit_events
) -> None:
    await commit_events(CASE_A)
    async with running(relay):
        await asyncio.wait_for(producer.wait_until_delivered(1), TIMEOUT)

        await commit_events(CASE_B)

        delivered = await asyncio.wait_for(producer.wait_until_delivered(2), TIMEOUT)
    assert keys(delivered) == [CASE_A, CASE_B]


async def test_events_written_by_another_process_wait_for_the_poll_or_a_wake(
    relay, producer, database_url, commit_events
) -> None:
    other_process = Database(
        database_url, service_metadata=relay.database.service_metadata, event_source="/nrm/unit"
    )
    try:
        async with running(relay):
            await asyncio.sleep(0.05)  # the relay's first pass: nothing to publish
            await commit_events(CASE_A, into=other_process)
            await asyncio.sleep(0.2)
            assert producer.delivered == []

            relay.wake()

            await asyncio.wait_for(producer.wait_until_delivered(1), TIMEOUT)
    finally:
        await other_process.dispose()


async def test_a_failed_pass_is_counted_and_retried_after_a_backoff(
    relay, producer, metrics, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A, CASE_B)
    failures = [KafkaConnectionError()]  # the first delivery of CASE_A only
    producer.delivery_failure = lambda record: (
        failures.pop() if failures and record.key == CASE_A.encode() else None
    )

    async with running(relay):
        delivered = await asyncio.wait_for(producer.wait_until_delivered(2), TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            # The relay marks rows in its own task, after delivery: watch the outbox.
            while unpublished_keys(await read_outbox()):  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    assert sorted(keys(delivered)) == [CASE_A, CASE_B]
    assert metrics.registry.get_sample_value("nrm_outbox_publish_failures_total") == 1
    assert (
        metrics.registry.get_sample_value(
            "nrm_outbox_events_published_total", {"topic": "nrm.referral"}
        )
        == 2
    )


async def test_the_relay_waits_for_the_broker(relay, broker, producer, commit_events) -> None:
    broker.connected.clear()
    await commit_events(CASE_A)

    async with running(relay):
        await asyncio.sleep(0.1)
        assert producer.delivered == []

        broker.connected.set()

        await asyncio.wait_for(producer.wait_until_delivered(1), TIMEOUT)


async def test_the_backlog_gauge_shows_the_unpublished_events_of_the_last_pass(
    database, broker, metrics, commit_events
) -> None:
    relay = OutboxRelay(database, broker, metrics, batch_size=2)
    await commit_events(CASE_A, CASE_B, CASE_C)

    await relay.publish_pending()
    assert metrics.registry.get_sample_value("nrm_outbox_backlog") == 2
    await relay.publish_pending()
    assert metrics.registry.get_sample_value("nrm_outbox_backlog") == 1
    await relay.publish_pending()
    assert metrics.registry.get_sample_value("nrm_outbox_backlog") == 0


# Replicas share a database only on PostgreSQL; SQLite has one process by construction.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_replicas_sharing_a_postgresql_outbox_take_turns_and_send_each_event_once(
    database, broker, metrics, commit_events, producer
) -> None:
    case_ids = [str(uuid.UUID(int=index + 1)) for index in range(60)]
    await commit_events(*case_ids)
    replica = Database(database.url, service_metadata=database.service_metadata, event_source="x")
    relays = [
        OutboxRelay(db, broker, metrics, batch_size=7, poll_seconds=LONG_POLL_SECONDS)
        for db in (database, replica)
    ]
    try:

        async def drain(relay: OutboxRelay) -> None:
            for _ in range(200):
                await relay.publish_pending()
                await asyncio.sleep(0)

        await asyncio.gather(*(drain(relay) for relay in relays))
    finally:
        await replica.dispose()

    assert sorted(keys(producer.delivered)) == sorted(case_ids)  # each event once, none twice


async def test_purge_deletes_published_events_only_and_never_unpublished_ones(
    relay, producer, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A)
    await relay.publish_pending()
    await commit_events(CASE_B)  # not yet published

    purged = await relay.purge_published(before=datetime.now(UTC) + timedelta(seconds=1))

    assert purged == 1
    assert [row.message_key for row in await read_outbox()] == [CASE_B]


async def test_purge_keeps_published_events_younger_than_the_retention(
    relay, producer, commit_events, read_outbox
) -> None:
    await commit_events(CASE_A)
    await relay.publish_pending()

    assert await relay.purge_published(before=datetime.now(UTC) - timedelta(hours=1)) == 0
    assert len(await read_outbox()) == 1
