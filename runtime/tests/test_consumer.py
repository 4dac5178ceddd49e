"""The idempotent consumer: each event's effect once, or the record parked with the reason."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import KafkaConnectionError
from sqlalchemy import insert

from nrm_contracts import Actor, Envelope
from nrm_contracts.events.identification import ScreeningRecorded
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_runtime.consumer import EventConsumer, Subscription

GROUP = "referral"
TOPIC = "nrm.identification"
TIMEOUT = 5.0
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class HandlerFailed(Exception):
    pass


class Handler:
    """A screening handler that opens a referral case, after ``fail_times`` failures."""

    def __init__(self, cases, *, fail_times: int = 0, records: Callable | None = None) -> None:
        self.cases = cases
        self.fail_times = fail_times
        self.records = records
        self.calls = 0
        self.actors: list[Actor | None] = []

    async def __call__(self, screening: ScreeningRecorded, uow) -> None:
        self.calls += 1
        self.actors.append(uow.actor)
        await uow.session.exec(
            insert(self.cases).values(case_id=str(screening.case_id), status="open")
        )
        if self.records is not None:
            uow.record(self.records(screening.case_id))
        if self.calls <= self.fail_times:
            raise HandlerFailed("the database said: Sokha Chan, born 2009-01-01")


@pytest.fixture
def handler(cases) -> Handler:
    return Handler(cases)


@pytest.fixture
def make_consumer(settings, database, broker, metrics, handler):
    def _consumer(handler=handler, settings=settings) -> EventConsumer:
        subscription = Subscription(GROUP, (TOPIC,), {ScreeningRecorded: handler})
        return EventConsumer(subscription, settings, database, broker, metrics)

    return _consumer


@pytest.fixture
def consumer(make_consumer) -> EventConsumer:
    return make_consumer()


def outcome(metrics, outcome: str, topic: str = TOPIC) -> float:
    value = metrics.registry.get_sample_value(
        "nrm_consumer_events_total", {"consumer_group": GROUP, "topic": topic, "outcome": outcome}
    )
    return value or 0.0


async def test_a_valid_event_runs_its_handler_once_and_writes_the_tracking_row(
    consumer, handler, metrics, screening_recorded, consumer_record, read_cases, read_processed
) -> None:
    event = screening_recorded()
    record = consumer_record(event)

    await consumer.process(record)

    assert handler.calls == 1
    assert await read_cases() == {str(event.data.case_id): "open"}
    [tracking] = await read_processed()
    assert (tracking.consumer_group, tracking.event_source, tracking.event_id) == (
        GROUP,
        "/nrm/identification",
        event.id,
    )
    assert (tracking.topic, tracking.partition, tracking.offset) == (
        TOPIC,
        record.partition,
        record.offset,
    )
    assert outcome(metrics, "processed") == 1


async def test_the_handler_acts_on_behalf_of_the_events_actor(
    consumer, handler, screening_recorded, consumer_record
) -> None:
    await consumer.process(consumer_record(screening_recorded()))

    assert handler.actors == [Actor("moi-dahtjp", "screener")]


async def test_the_same_event_twice_has_its_effect_once(
    consumer, handler, metrics, screening_recorded, consumer_record, read_cases, read_processed
) -> None:
    event = screening_recorded()

    await consumer.process(consumer_record(event))
    await consumer.process(consumer_record(event))  # redelivered, at a later offset

    assert handler.calls == 1
    assert len(await read_cases()) == 1
    assert len(await read_processed()) == 1
    assert outcome(metrics, "processed") == 1
    assert outcome(metrics, "duplicate") == 1


async def test_events_recorded_by_a_handler_commit_with_its_tracking_row(
    make_consumer, cases, case_opened, screening_recorded, consumer_record, read_outbox
) -> None:
    consumer = make_consumer(Handler(cases, records=case_opened))
    consumed = screening_recorded()

    await consumer.process(consumer_record(consumed))

    [row] = await read_outbox()
    assert row.event_type == ReferralCaseOpened.event_type
    # The trace of the consumed event goes on in the event it caused.
    assert row.traceparent.split("-")[1] == consumed.traceparent.split("-")[1]


async def test_a_handler_that_fails_then_succeeds_is_retried(
    make_consumer, cases, metrics, producer, screening_recorded, consumer_record, read_cases
) -> None:
    handler = Handler(cases, fail_times=2)  # the settings allow 3 attempts
    consumer = make_consumer(handler)

    await consumer.process(consumer_record(screening_recorded()))

    assert handler.calls == 3
    assert len(await read_cases()) == 1  # the failed attempts' writes were rolled back
    assert producer.delivered == []
    assert outcome(metrics, "processed") == 1
    assert (
        metrics.registry.get_sample_value(
            "nrm_consumer_retries_total", {"consumer_group": GROUP, "topic": TOPIC}
        )
        == 2
    )


async def test_a_handler_that_always_fails_is_dead_lettered_with_the_exception_type(
    make_consumer,
    cases,
    metrics,
    producer,
    screening_recorded,
    consumer_record,
    read_cases,
    read_processed,
) -> None:
    handler = Handler(cases, fail_times=99)
    consumer = make_consumer(handler)
    record = consumer_record(screening_recorded())

    await consumer.process(record)

    assert handler.calls == 3
    [parked] = producer.delivered
    reason = dict(parked.headers)["nrm.dlq.reason"].decode()
    assert reason == "handler failed after 3 attempts: HandlerFailed"
    assert "Sokha" not in reason  # the exception's text can quote personal data
    assert parked.value == record.value
    assert await read_cases() == {}
    assert await read_processed() == []
    assert outcome(metrics, "dead_lettered") == 1


INVALID_RECORDS = [
    # (key, value, headers, the reason starts with)
    (b"k", b"\xff\xfe not json", [], "not a CloudEvents JSON envelope"),
    (b"k", b"[1, 2]", [], "not a CloudEvents JSON envelope"),
    (b"k", b"", [], "empty record value"),
    (None, b"{}", [], "record has no key"),
    (b"k", b"{}", [("content-type", b"text/plain")], "content-type 'text/plain'"),
    (b"k", json.dumps({"id": "1"}).encode(), [], "missing required attribute(s)"),
]


@pytest.mark.parametrize(("key", "value", "headers", "reason"), INVALID_RECORDS)
async def test_an_invalid_record_is_dead_lettered_unchanged_with_the_envelope_reason(
    consumer, handler, producer, consumer_record, read_processed, key, value, headers, reason
) -> None:
    record = consumer_record(key=key, value=value, headers=headers)

    await consumer.process(record)

    assert handler.calls == 0
    [parked] = producer.delivered
    assert parked.topic == f"{TOPIC}.dlq.{GROUP}"
    assert (parked.key, parked.value) == (key, value)
    assert dict(parked.headers)["nrm.dlq.reason"].decode().startswith(reason)
    assert await read_processed() == []


async def test_a_dead_letter_names_where_the_record_came_from(
    consumer, producer, consumer_record
) -> None:
    record = consumer_record(key=b"k", value=b"not json", headers=[("source-app", b"x")])

    await consumer.process(record)

    [parked] = producer.delivered
    assert parked.headers[0] == ("source-app", b"x")  # the original headers come first
    assert dict(parked.headers) == {
        "source-app": b"x",
        "nrm.dlq.reason": dict(parked.headers)["nrm.dlq.reason"],
        "nrm.dlq.topic": TOPIC.encode(),
        "nrm.dlq.partition": str(record.partition).encode(),
        "nrm.dlq.offset": str(record.offset).encode(),
        "nrm.dlq.consumer-group": GROUP.encode(),
    }


async def test_a_valid_event_of_a_type_without_handler_is_ignored(
    consumer, handler, metrics, producer, case_opened, consumer_record
) -> None:
    event = Envelope(source="/nrm/referral", data=case_opened(), traceparent=TRACEPARENT)

    await consumer.process(consumer_record(event))

    assert handler.calls == 0
    assert producer.delivered == []
    assert outcome(metrics, "ignored") == 1


async def test_an_event_type_no_contract_defines_is_dead_lettered(
    consumer, producer, screening_recorded, consumer_record
) -> None:
    record = consumer_record(screening_recorded())
    document = json.loads(record.value)
    document["type"] = "kh.nrm.identification.screening.recorded.v2"
    record.value = json.dumps(document).encode()

    await consumer.process(record)

    [parked] = producer.delivered
    assert dict(parked.headers)["nrm.dlq.reason"] == (
        b"unknown event type 'kh.nrm.identification.screening.recorded.v2'"
    )


async def test_the_dead_letter_topic_is_the_prefixed_one_the_broker_provisions(
    make_consumer, make_settings, database_url, producer, consumer_record
) -> None:
    prefixed = make_settings(database_url=database_url, kafka_topic_prefix="t7.")
    consumer = make_consumer(settings=prefixed)
    # A consumer reads the prefixed topic; its dead letters go next to it.
    record = consumer_record(key=b"k", value=b"not json", topic=prefixed.topic(TOPIC))

    await consumer.process(record)

    [parked] = producer.delivered
    assert parked.topic == prefixed.topic(consumer.subscription.dead_letter_topics()[0])
    assert parked.topic == "t7.nrm.identification.dlq.referral"


async def test_a_failed_dead_letter_send_raises_so_the_offset_does_not_move(
    consumer, producer, consumer_record, metrics
) -> None:
    producer.delivery_failure = lambda _record: KafkaConnectionError()

    with pytest.raises(KafkaConnectionError):
        await consumer.process(consumer_record(key=b"k", value=b"not json"))

    assert outcome(metrics, "dead_lettered") == 0


def test_a_subscription_has_one_dead_letter_topic_per_topic() -> None:
    subscription = Subscription(GROUP, ("nrm.identification", "nrm.shelter-registry"), {})

    assert subscription.dead_letter_topics() == [
        "nrm.identification.dlq.referral",
        "nrm.shelter-registry.dlq.referral",
    ]


# --- the poll loop, on a fake aiokafka consumer ---------------------------------------------


class FakeKafkaConsumer:
    """aiokafka's consumer in memory: one batch of records, then nothing."""

    def __init__(self, batch, *, highwater: dict[TopicPartition, int] | None = None) -> None:
        self.batches = [batch]
        self.partitions = set(batch)
        self.committed: list[dict[TopicPartition, int]] = []
        self.commit_made = asyncio.Event()
        self.stopped = False
        # As the broker reports it: the next offset it will write; by default, the end
        # of the batch (nothing left behind it).
        self.highwaters = highwater or {
            tp: records[-1].offset + 1 for tp, records in batch.items() if records
        }
        self.positions: dict[TopicPartition, int] = {}

    async def start(self) -> None:
        pass

    def subscribe(self, topics, listener) -> None:
        self.topics = topics

    async def getmany(self, timeout_ms: int):
        if self.batches:
            batch = self.batches.pop(0)
            for tp, records in batch.items():
                self.positions[tp] = records[-1].offset + 1
            return batch
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    def assignment(self) -> set[TopicPartition]:
        return self.partitions

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters.get(tp)

    async def position(self, tp: TopicPartition) -> int:
        return self.positions.get(tp, 0)

    async def commit(self, offsets) -> None:
        self.committed.append(dict(offsets))
        self.commit_made.set()

    async def stop(self) -> None:
        self.stopped = True


class BlockingHandler(Handler):
    """Blocks on its second call until the test cancels the consumer."""

    def __init__(self, cases) -> None:
        super().__init__(cases)
        self.blocked = asyncio.Event()

    async def __call__(self, screening, uow) -> None:
        await super().__call__(screening, uow)
        if self.calls == 2:
            self.blocked.set()
            await asyncio.Event().wait()


async def run_on(consumer: EventConsumer, fake: FakeKafkaConsumer, monkeypatch):
    monkeypatch.setattr(consumer, "_new_consumer", lambda: fake)
    return asyncio.create_task(consumer.run())


async def stop(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_offsets_are_committed_after_the_batch_is_processed(
    consumer, screening_recorded, consumer_record, monkeypatch
) -> None:
    first, second = consumer_record(screening_recorded()), consumer_record(screening_recorded())
    partition = TopicPartition(TOPIC, first.partition)
    fake = FakeKafkaConsumer({partition: [first, second]})

    task = await run_on(consumer, fake, monkeypatch)
    try:
        await asyncio.wait_for(fake.commit_made.wait(), TIMEOUT)
    finally:
        await stop(task)

    assert fake.committed[0] == {partition: second.offset + 1}
    assert fake.topics == [TOPIC]
    assert fake.stopped


async def test_stopping_mid_batch_commits_the_records_already_processed(
    make_consumer, cases, screening_recorded, consumer_record, read_processed, monkeypatch
) -> None:
    handler = BlockingHandler(cases)
    consumer = make_consumer(handler)
    first, second = consumer_record(screening_recorded()), consumer_record(screening_recorded())
    partition = TopicPartition(TOPIC, first.partition)
    fake = FakeKafkaConsumer({partition: [first, second]})

    task = await run_on(consumer, fake, monkeypatch)
    try:
        await asyncio.wait_for(handler.blocked.wait(), TIMEOUT)
    finally:
        await stop(task)

    assert len(await read_processed()) == 1  # the first record's effect is committed
    assert fake.stopped
    assert fake.committed == [{partition: first.offset + 1}]


async def test_the_records_left_behind_are_the_lag_per_partition_in_a_metric(
    make_consumer, settings, metrics, screening_recorded, consumer_record, monkeypatch
) -> None:
    consumer = make_consumer(settings=settings.model_copy(update={"consumer_behind_records": 5}))
    records = [consumer_record(screening_recorded()) for _ in range(3)]
    partition = TopicPartition(TOPIC, records[0].partition)
    # The broker holds seven more records than this batch: the consumer is behind.
    fake = FakeKafkaConsumer(
        {partition: records}, highwater={partition: records[-1].offset + 1 + 7}
    )

    task = await run_on(consumer, fake, monkeypatch)
    try:
        await asyncio.wait_for(fake.commit_made.wait(), TIMEOUT)
        async with asyncio.timeout(TIMEOUT):
            while not consumer.lag:  # noqa: ASYNC110 - measured after the commit
                await asyncio.sleep(0.01)
        behind = consumer.behind
    finally:
        await stop(task)

    assert behind == 7
    assert consumer.lag == {}  # a stopped consumer claims no partition
    gauge = metrics.registry.get_sample_value(
        "nrm_consumer_lag",
        {"consumer_group": GROUP, "topic": TOPIC, "partition": str(partition.partition)},
    )
    assert gauge == 7
