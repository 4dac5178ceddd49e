"""The referral case opens when identification records a screening: once per
identification case, announced in the outbox in the same transaction."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from nrm_contracts import Topic
from nrm_contracts.events.identification import ScreeningRecorded
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_runtime import tracing
from nrm_runtime.database import Database
from referral.handlers import HANDLERS, open_referral_case
from referral.store import ReferralCase

CASE_OPENED = "kh.nrm.referral.case.opened.v1"


def consuming(traceparent: str) -> AbstractContextManager[Span]:
    """The span the consumer opens around a handler, continuing the event's trace."""
    return tracing.span_from_traceparent("process", traceparent, SpanKind.CONSUMER)


async def referral_cases(database: Database) -> list[ReferralCase]:
    async with database.session() as session:
        return list((await session.exec(select(ReferralCase))).all())


def test_a_recorded_screening_is_handled_by_open_referral_case() -> None:
    assert {ScreeningRecorded: open_referral_case} == HANDLERS


async def test_a_recorded_screening_opens_a_referral_case(
    referral_database, handle_event, screening_recorded
) -> None:
    event = screening_recorded(sex="transgender", is_child=False, province_code="01")

    await handle_event(referral_database, event)

    [case] = await referral_cases(referral_database)
    assert case.identification_case_id == event.case_id
    assert case.status == "open"
    assert (case.sex, case.is_child, case.province_code) == ("transgender", False, "01")
    assert case.opened_at.tzinfo is not None


async def test_opening_a_case_records_one_case_opened_event_about_the_case(
    referral_database, handle_event, screening_recorded, outbox_rows, parse_outbox_row
) -> None:
    event = screening_recorded()

    await handle_event(referral_database, event)

    [case] = await referral_cases(referral_database)
    [row] = outbox_rows()
    assert row["event_type"] == CASE_OPENED
    assert row["topic"] == str(Topic.REFERRAL)
    assert row["message_key"] == str(case.id)  # the referral case's events stay in order
    envelope = parse_outbox_row(row)
    assert envelope.source == "/nrm/referral"
    assert envelope.subject == str(case.id)
    assert envelope.data == ReferralCaseOpened(
        referral_case_id=case.id,
        identification_case_id=event.case_id,
        opened_at=case.opened_at,
    )


async def test_the_event_names_the_actor_of_the_consumed_event(
    referral_database, handle_event, screening_recorded, outbox_rows, parse_outbox_row
) -> None:
    await handle_event(referral_database, screening_recorded())

    assert str(parse_outbox_row(outbox_rows()[0]).actor) == "moi-dahtjp/screener"


async def test_a_second_screening_of_the_same_identification_case_opens_no_second_case(
    referral_database, handle_event, screening_recorded, outbox_rows
) -> None:
    first = screening_recorded()
    second = screening_recorded(case_id=first.case_id)  # another screening, same case

    await handle_event(referral_database, first)
    recorded_again = await handle_event(referral_database, second)

    assert recorded_again == []
    assert [case.identification_case_id for case in await referral_cases(referral_database)] == [
        first.case_id
    ]
    assert len(outbox_rows()) == 1


async def test_each_identification_case_opens_its_own_referral_case(
    referral_database, handle_event, screening_recorded, outbox_rows
) -> None:
    events = [screening_recorded() for _ in range(3)]

    for event in events:
        await handle_event(referral_database, event)

    cases = await referral_cases(referral_database)
    assert {case.identification_case_id for case in cases} == {e.case_id for e in events}
    assert len({case.id for case in cases}) == 3
    assert [row["event_type"] for row in outbox_rows()] == [CASE_OPENED] * 3


async def test_the_event_continues_the_trace_of_the_consumed_event(
    referral_database, handle_event, screening_recorded, outbox_rows, incoming_traceparent
) -> None:
    await handle_event(referral_database, screening_recorded())

    trace_id = incoming_traceparent.split("-")[1]
    assert outbox_rows()[0]["traceparent"].split("-")[1] == trace_id


async def test_nothing_is_stored_unless_the_unit_of_work_commits(
    referral_database, screening_recorded, outbox_rows, incoming_traceparent
) -> None:
    with consuming(incoming_traceparent):
        async with referral_database.unit_of_work() as uow:
            await open_referral_case(screening_recorded(), uow)
            # no commit: the consumer failed after the handler, say

    assert await referral_cases(referral_database) == []
    assert outbox_rows() == []


async def test_two_concurrent_openings_of_one_case_leave_one_case_and_one_event(
    referral_database, handle_event, screening_recorded, outbox_rows, incoming_traceparent
) -> None:
    # Two consumers handle two screenings of one case at the same time: both find no case.
    # The unique identification_case_id refuses the second; its retry then finds the first.
    first = screening_recorded()
    second = screening_recorded(case_id=first.case_id)
    with consuming(incoming_traceparent):
        async with (
            referral_database.unit_of_work() as one,
            referral_database.unit_of_work() as other,
        ):
            await open_referral_case(first, one)
            await open_referral_case(second, other)
            await one.commit()
            with pytest.raises(IntegrityError):
                await other.commit()
    retried = await handle_event(referral_database, second)

    assert retried == []
    assert len(await referral_cases(referral_database)) == 1
    assert len(outbox_rows()) == 1


async def test_the_handler_runs_in_a_bare_unit_of_work_outside_any_service(
    referral_database, screening_recorded, outbox_rows, parse_outbox_row, monkeypatch
) -> None:
    # A script or a test that never configured tracing: the tracer records nothing, and
    # the event must still get a valid traceparent, opening a trace of its own.
    monkeypatch.setattr(tracing, "tracer", lambda: trace.NoOpTracer())

    async with referral_database.unit_of_work() as uow:
        await open_referral_case(screening_recorded(), uow)
        await uow.commit()

    [row] = outbox_rows()
    assert parse_outbox_row(row).traceparent == row["traceparent"]  # valid W3C context
