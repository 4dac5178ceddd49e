"""The unit of work: a state change and the events it records commit together, or neither."""

from __future__ import annotations

from uuid import UUID

import pytest
from opentelemetry import trace
from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError

from nrm_contracts import Actor, Envelope
from nrm_contracts import envelope as envelope_module
from nrm_contracts.envelope import TRACEPARENT_PATTERN
from nrm_runtime import tracing

CASE_ID = "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"
CASE_MANAGER = Actor("mosvy", "case_manager")


class UseCaseFailed(Exception):
    pass


async def test_state_change_and_its_events_commit_together(
    database, cases, case_opened, request_span, read_cases, read_outbox
) -> None:
    with request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            await uow.session.exec(insert(cases).values(case_id=CASE_ID, status="open"))
            recorded = uow.record(case_opened(CASE_ID))
            await uow.commit()

    assert await read_cases() == {CASE_ID: "open"}
    [row] = await read_outbox()
    assert row.event_id == recorded.id
    assert row.published_at is None


async def test_rollback_writes_neither_state_nor_event(
    database, cases, case_opened, request_span, read_cases, read_outbox
) -> None:
    with pytest.raises(UseCaseFailed), request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            await uow.session.exec(insert(cases).values(case_id=CASE_ID, status="open"))
            uow.record(case_opened(CASE_ID))
            raise UseCaseFailed

    assert await read_cases() == {}
    assert await read_outbox() == []


async def test_leaving_without_commit_writes_neither_state_nor_event(
    database, cases, case_opened, request_span, read_cases, read_outbox
) -> None:
    with request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            await uow.session.exec(insert(cases).values(case_id=CASE_ID, status="open"))
            uow.record(case_opened(CASE_ID))

    assert await read_cases() == {}
    assert await read_outbox() == []


async def test_a_failing_commit_writes_neither_state_nor_event(
    database, cases, case_opened, request_span, read_cases, read_outbox, monkeypatch
) -> None:
    # Every event gets the same id: the second commit breaks the outbox's unique event id.
    monkeypatch.setattr(envelope_module, "uuid4", lambda: UUID(int=7))
    with request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            await uow.session.exec(insert(cases).values(case_id=CASE_ID, status="open"))
            uow.record(case_opened(CASE_ID))
            await uow.commit()

    with pytest.raises(IntegrityError), request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            await uow.session.exec(update(cases).values(status="closed"))
            uow.record(case_opened(CASE_ID))
            await uow.commit()

    assert await read_cases() == {CASE_ID: "open"}
    assert len(await read_outbox()) == 1


@pytest.mark.parametrize(
    ("events_recorded", "wakes"),
    [(0, 0), (1, 1), (3, 1)],
    ids=["no-events-no-wake", "one-event-one-wake", "three-events-one-wake"],
)
async def test_commit_wakes_the_relay_only_when_events_were_recorded(
    database, cases, case_opened, request_span, events_recorded, wakes
) -> None:
    woken: list[str] = []
    database.on_commit_of_events(lambda: woken.append("relay"))

    with request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            await uow.session.exec(insert(cases).values(case_id=CASE_ID, status="open"))
            for _ in range(events_recorded):
                uow.record(case_opened())
            await uow.commit()

    assert len(woken) == wakes


async def test_a_rolled_back_unit_of_work_wakes_nobody(database, case_opened, request_span) -> None:
    woken: list[str] = []
    database.on_commit_of_events(lambda: woken.append("relay"))

    with pytest.raises(UseCaseFailed), request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            uow.record(case_opened())
            raise UseCaseFailed

    assert woken == []


async def test_outbox_row_is_a_structured_cloudevent_with_actor_and_traceparent(
    database, case_opened, request_span, read_outbox
) -> None:
    with request_span() as span:
        async with database.unit_of_work(CASE_MANAGER) as uow:
            recorded = uow.record(case_opened(CASE_ID))
            await uow.commit()
    [row] = await read_outbox()

    parsed = Envelope.from_kafka(
        row.message_key.encode(), row.message_value, {"content-type": row.content_type.encode()}
    )

    assert parsed == recorded
    assert parsed.actor == CASE_MANAGER
    assert parsed.source == "/nrm/unit"
    assert row.content_type == "application/cloudevents+json"
    assert (row.topic, row.message_key, row.event_type) == (
        "nrm.referral",
        CASE_ID,
        "kh.nrm.referral.case.opened.v1",
    )
    context = span.get_span_context()
    assert row.traceparent == parsed.traceparent
    assert parsed.traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


async def test_recorded_lists_the_events_of_this_unit_of_work(
    database, case_opened, request_span
) -> None:
    with request_span():
        async with database.unit_of_work(CASE_MANAGER) as uow:
            first = uow.record(case_opened())
            second = uow.record(case_opened())

            assert uow.recorded == [first, second]


async def test_an_event_recorded_outside_any_trace_still_gets_a_traceparent(
    database, case_opened, monkeypatch
) -> None:
    # What the tracer is in a process where configure_tracing was never called.
    monkeypatch.setattr(tracing, "tracer", lambda: trace.NoOpTracer())

    async with database.unit_of_work(CASE_MANAGER) as uow:
        recorded = uow.record(case_opened())

    assert TRACEPARENT_PATTERN.match(recorded.traceparent)


# --- the tracking record of the idempotent consumer ---------------------------------------


async def test_an_event_is_processed_once_its_tracking_record_commits(
    database, screening_recorded
) -> None:
    event = screening_recorded()

    async with database.unit_of_work() as uow:
        assert not await uow.already_processed("referral", event)
        await uow.mark_processed(
            "referral", event, topic="nrm.identification", partition=1, offset=7
        )
        await uow.commit()

    async with database.unit_of_work() as uow:
        assert await uow.already_processed("referral", event)


async def test_a_rolled_back_tracking_record_leaves_the_event_unprocessed(
    database, screening_recorded
) -> None:
    event = screening_recorded()

    async with database.unit_of_work() as uow:
        await uow.mark_processed(
            "referral", event, topic="nrm.identification", partition=1, offset=7
        )

    async with database.unit_of_work() as uow:
        assert not await uow.already_processed("referral", event)


async def test_the_same_event_cannot_be_marked_twice_for_one_group(
    database, screening_recorded
) -> None:
    event = screening_recorded()
    async with database.unit_of_work() as uow:
        await uow.mark_processed(
            "referral", event, topic="nrm.identification", partition=1, offset=7
        )
        await uow.commit()

    with pytest.raises(IntegrityError):
        async with database.unit_of_work() as uow:
            # Redelivered at another offset: still the same event (source + id).
            await uow.mark_processed(
                "referral", event, topic="nrm.identification", partition=1, offset=9
            )
            await uow.commit()


async def test_another_group_may_process_the_same_event(database, screening_recorded) -> None:
    event = screening_recorded()
    async with database.unit_of_work() as uow:
        await uow.mark_processed(
            "referral", event, topic="nrm.identification", partition=1, offset=7
        )
        await uow.commit()

    async with database.unit_of_work() as uow:
        assert not await uow.already_processed("repatriation", event)
        await uow.mark_processed(
            "repatriation", event, topic="nrm.identification", partition=1, offset=7
        )
        await uow.commit()

    async with database.unit_of_work() as uow:
        assert await uow.already_processed("repatriation", event)


async def test_an_event_is_identified_by_source_and_id(database, screening_recorded) -> None:
    event = screening_recorded()
    same_id_other_source = Envelope(
        source="/nrm/other",
        data=event.data,
        traceparent=event.traceparent,
        id=event.id,
    )
    async with database.unit_of_work() as uow:
        await uow.mark_processed(
            "referral", event, topic="nrm.identification", partition=1, offset=7
        )
        await uow.commit()

    async with database.unit_of_work() as uow:
        assert not await uow.already_processed("referral", same_id_other_source)
