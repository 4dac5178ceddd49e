"""The referral case opens when identification presumes or identifies a victim with a
valid consent to referral (a child: a guardian or a best-interest decision): once per
identification case, announced in the outbox in the same transaction. A withdrawal of
consent is recorded on the case."""

from __future__ import annotations

from contextlib import AbstractContextManager

import pytest
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from nrm_contracts import Topic
from nrm_contracts.events.identification import (
    ConsentChanged,
    ScreeningRecorded,
    VictimIdentified,
    VictimPresumed,
)
from nrm_contracts.events.referral import ReferralCaseOpened
from nrm_runtime import tracing
from nrm_runtime.database import Database
from referral.entrypoints.events import HANDLERS, open_referral_case, record_consent_change
from referral.store import AwaitingConsent, ReferralCase

CASE_OPENED = "kh.nrm.referral.case.opened.v1"


def consuming(traceparent: str) -> AbstractContextManager[Span]:
    """The span the consumer opens around a handler, continuing the event's trace."""
    return tracing.span_from_traceparent("process", traceparent, SpanKind.CONSUMER)


async def referral_cases(database: Database) -> list[ReferralCase]:
    async with database.session() as session:
        return list((await session.exec(select(ReferralCase))).all())


async def awaiting(database: Database) -> list[AwaitingConsent]:
    async with database.session() as session:
        return list((await session.exec(select(AwaitingConsent))).all())


def test_presumed_and_identified_victims_and_consent_changes_are_handled() -> None:
    assert {
        VictimPresumed: open_referral_case,
        VictimIdentified: open_referral_case,
        ConsentChanged: record_consent_change,
    } == HANDLERS
    assert ScreeningRecorded not in HANDLERS  # a screening alone refers nobody


async def test_a_presumed_victim_with_consent_opens_a_referral_case(
    referral_database, handle_event, victim_presumed
) -> None:
    event = victim_presumed(
        sex="transgender",
        is_child=False,
        province_code="01",
        referral_consent_basis="own_consent",
        age_band="18_to_24",
    )

    await handle_event(referral_database, event)

    [case] = await referral_cases(referral_database)
    assert case.identification_case_id == event.case_id
    assert case.status == "open"
    assert (case.sex, case.is_child, case.province_code) == ("transgender", False, "01")
    assert (case.consent_basis, case.consent_withdrawn_at) == ("own_consent", None)
    assert case.opened_at.tzinfo is not None


@pytest.mark.parametrize(
    ("is_child", "basis", "opens"),
    [
        (True, "guardian", True),
        (True, "best_interest_decision", True),
        (True, "own_consent", False),  # a child is not referred on their own consent
        (False, "own_consent", True),
        (False, "guardian", False),  # an adult decides for themselves
        (None, "own_consent", True),  # age unknown: a given consent serves
        (True, None, False),  # no consent to referral
        (False, None, False),
    ],
)
async def test_a_referral_case_opens_only_on_a_valid_consent_basis(
    referral_database, handle_event, victim_presumed, outbox_rows, is_child, basis, opens
) -> None:
    event = victim_presumed(is_child=is_child, referral_consent_basis=basis)

    await handle_event(referral_database, event)

    assert len(await referral_cases(referral_database)) == int(opens)
    assert len(outbox_rows()) == int(opens)
    assert [w.identification_case_id for w in await awaiting(referral_database)] == (
        [] if opens else [event.case_id]
    )


async def test_opening_a_case_records_one_case_opened_event_about_the_case(
    referral_database, handle_event, victim_presumed, outbox_rows, parse_outbox_row
) -> None:
    event = victim_presumed()

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
    referral_database, handle_event, victim_presumed, outbox_rows, parse_outbox_row
) -> None:
    await handle_event(referral_database, victim_presumed())

    assert str(parse_outbox_row(outbox_rows()[0]).actor) == "mosvy/competent_authority"


async def test_the_identification_after_the_presumption_opens_no_second_case(
    referral_database, handle_event, victim_presumed, outbox_rows
) -> None:
    presumed = victim_presumed()
    fields = presumed.model_dump(exclude={"recovery_period_ends_on", "final_decision_due_on"})
    identified = VictimIdentified(**fields)

    await handle_event(referral_database, presumed)
    recorded_again = await handle_event(referral_database, identified)

    assert recorded_again == []
    assert [c.identification_case_id for c in await referral_cases(referral_database)] == [
        presumed.case_id
    ]
    assert len(outbox_rows()) == 1


async def test_each_identification_case_opens_its_own_referral_case(
    referral_database, handle_event, victim_presumed, outbox_rows
) -> None:
    events = [victim_presumed() for _ in range(3)]

    for event in events:
        await handle_event(referral_database, event)

    cases = await referral_cases(referral_database)
    assert {case.identification_case_id for case in cases} == {e.case_id for e in events}
    assert len({case.id for case in cases}) == 3
    assert [row["event_type"] for row in outbox_rows()] == [CASE_OPENED] * 3


async def test_a_consent_given_later_opens_the_waiting_case(
    referral_database, handle_event, victim_presumed, consent_changed, outbox_rows
) -> None:
    event = victim_presumed(referral_consent_basis=None)
    await handle_event(referral_database, event)

    await handle_event(
        referral_database, consent_changed(event.case_id, status="given", basis="guardian")
    )

    [case] = await referral_cases(referral_database)
    assert (case.identification_case_id, case.consent_basis) == (event.case_id, "guardian")
    assert await awaiting(referral_database) == []
    assert [row["event_type"] for row in outbox_rows()] == [CASE_OPENED]


async def test_a_withdrawal_of_consent_is_recorded_on_the_case(
    referral_database, handle_event, victim_presumed, consent_changed, outbox_rows
) -> None:
    event = victim_presumed()
    await handle_event(referral_database, event)
    withdrawal = consent_changed(event.case_id, status="withdrawn")

    await handle_event(referral_database, withdrawal)

    [case] = await referral_cases(referral_database)
    assert case.consent_withdrawn_at == withdrawal.recorded_at
    assert len(outbox_rows()) == 1  # the case stays: it is the record


async def test_consent_given_again_lifts_the_withdrawal(
    referral_database, handle_event, victim_presumed, consent_changed
) -> None:
    event = victim_presumed()
    await handle_event(referral_database, event)
    await handle_event(referral_database, consent_changed(event.case_id, status="withdrawn"))

    await handle_event(
        referral_database,
        consent_changed(event.case_id, status="given", basis="best_interest_decision"),
    )

    [case] = await referral_cases(referral_database)
    assert (case.consent_withdrawn_at, case.consent_basis) == (None, "best_interest_decision")


@pytest.mark.parametrize("purpose", ["data_sharing", "repatriation"])
async def test_consent_for_another_purpose_leaves_the_referral_alone(
    referral_database, handle_event, victim_presumed, consent_changed, purpose
) -> None:
    event = victim_presumed()
    await handle_event(referral_database, event)

    await handle_event(referral_database, consent_changed(event.case_id, purpose=purpose))

    [case] = await referral_cases(referral_database)
    assert case.consent_withdrawn_at is None


async def test_a_withdrawal_before_any_case_opens_nothing(
    referral_database, handle_event, consent_changed, victim_presumed, outbox_rows
) -> None:
    event = victim_presumed(referral_consent_basis=None)
    await handle_event(referral_database, event)

    await handle_event(referral_database, consent_changed(event.case_id, status="withdrawn"))

    assert await referral_cases(referral_database) == []
    assert outbox_rows() == []


async def test_the_event_continues_the_trace_of_the_consumed_event(
    referral_database, handle_event, victim_presumed, outbox_rows, incoming_traceparent
) -> None:
    await handle_event(referral_database, victim_presumed())

    trace_id = incoming_traceparent.split("-")[1]
    assert outbox_rows()[0]["traceparent"].split("-")[1] == trace_id


async def test_nothing_is_stored_unless_the_unit_of_work_commits(
    referral_database, victim_presumed, outbox_rows, incoming_traceparent
) -> None:
    with consuming(incoming_traceparent):
        async with referral_database.unit_of_work() as uow:
            await open_referral_case(victim_presumed(), uow)
            # no commit: the consumer failed after the handler, say

    assert await referral_cases(referral_database) == []
    assert outbox_rows() == []


async def test_two_concurrent_openings_of_one_case_leave_one_case_and_one_event(
    referral_database, handle_event, victim_presumed, outbox_rows, incoming_traceparent
) -> None:
    # Two consumers handle two decisions on one case at the same time: both find no case.
    # The unique identification_case_id refuses the second; its retry then finds the first.
    first = victim_presumed()
    second = victim_presumed(case_id=first.case_id)
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
    referral_database, victim_presumed, outbox_rows, parse_outbox_row, monkeypatch
) -> None:
    # A script or a test that never configured tracing: the tracer records nothing, and
    # the event must still get a valid traceparent, opening a trace of its own.
    monkeypatch.setattr(tracing, "tracer", lambda: trace.NoOpTracer())

    async with referral_database.unit_of_work() as uow:
        await open_referral_case(victim_presumed(), uow)
        await uow.commit()

    [row] = outbox_rows()
    assert parse_outbox_row(row).traceparent == row["traceparent"]  # valid W3C context
