"""The deadline sweep: a step's working days run out → the clock is missed, once.

The sweep marks each running clock whose due day has ended in Cambodia as missed,
publishes ``deadline.missed`` (the escalation), lists it under ``GET /deadlines``, and,
when the late step is the counterpart's, sends the counterpart a reminder. A clock is
taken from running to missed by a conditional update, so two replicas sweeping at once
escalate it once.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from nrm_contracts.events.repatriation import DeadlineMissed, Direction
from nrm_runtime.audit import SystemActor
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import Database
from repatriation.context import Repatriation
from repatriation.domain.sop import HOME_COUNTRY
from repatriation.store import ClockState, RepatriationCase, StepClock, audit_system_disclosures
from repatriation.usecases.liaison_outbox import queue_message

# Reminders are the service's own messages, not an officer's.
REMINDER_SENDER = "nrm-repatriation"
REMINDER_PURPOSE = "deadline_reminder"
"""The audit's purpose of a reminder: it names the case to the counterpart agency."""


async def sweep_deadlines(context: Repatriation, database: Database) -> int:
    """Escalate every clock that ran out; returns how many."""
    now = context.clock()
    today = cambodian_date(now)
    async with database.session() as session:
        result = await session.exec(
            select(StepClock.id).where(
                col(StepClock.state) == ClockState.RUNNING, col(StepClock.due_on) < today
            )
        )
        overdue = list(result.all())
    escalated = 0
    for clock_id in overdue:
        async with database.unit_of_work() as uow:
            taken = await uow.session.exec(
                update(StepClock)
                .where(col(StepClock.id) == clock_id, col(StepClock.state) == ClockState.RUNNING)
                .values(state=ClockState.MISSED, ended_at=now)
            )
            if taken.rowcount != 1:
                continue  # met, cancelled or escalated meanwhile
            clock = await uow.session.get(StepClock, clock_id)
            case = await uow.session.get(RepatriationCase, clock.case_id) if clock else None
            if clock is None or case is None:
                continue
            uow.record(
                DeadlineMissed(
                    repatriation_case_id=case.id,
                    direction=Direction(case.direction),
                    counterpart_country=case.counterpart_country,
                    step=clock.step,
                    acting_country=clock.acting_country,
                    working_days=clock.working_days,
                    due_on=clock.due_on,
                    detected_at=now,
                )
            )
            if clock.acting_country != HOME_COUNTRY:
                queue_message(
                    uow,
                    context.keys,
                    case,
                    organisation=REMINDER_SENDER,
                    message_type="deadline_reminder",
                    step=clock.step,
                    body={
                        "case_id": str(case.id),
                        "counterpart_reference": case.counterpart_reference,
                        "sender_country": HOME_COUNTRY,
                        "step": clock.step,
                        "due_on": clock.due_on.isoformat(),
                        "working_days": clock.working_days,
                    },
                    now=now,
                )
                await audit_system_disclosures(
                    uow.session, SystemActor.of(context.settings), REMINDER_PURPOSE
                )
            await uow.commit()
            escalated += 1
    return escalated
