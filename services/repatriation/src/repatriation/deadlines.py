"""Deadline clocks: a step's working days run out → the clock is missed, once.

The sweep marks each running clock whose due day has ended in Cambodia as missed,
publishes ``deadline.missed`` (the escalation), lists it under ``GET /deadlines``, and,
when the late step is the counterpart's, sends the counterpart a reminder. A clock is
taken from running to missed by a conditional update, so two replicas sweeping at once
escalate it once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import col, select

from nrm_contracts.events.repatriation import DeadlineMissed, Direction
from nrm_runtime.audit import SystemActor
from nrm_runtime.clock import cambodian_date
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.working_days import WorkingCalendar
from repatriation import domain
from repatriation.context import Repatriation
from repatriation.messages import queue_message
from repatriation.privacy import audit_system_disclosures
from repatriation.sop import HOME_COUNTRY, Procedure
from repatriation.store import ClockState, RepatriationCase, StepClock

log = logging.getLogger(__name__)

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
                    case_id=case.id,
                    country=case.counterpart_country,
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


async def run_deadline_sweeps(context: Repatriation, database: Database) -> None:
    """Sweep every ``deadline_sweep_seconds`` for the process's life."""
    while True:
        try:
            count = await sweep_deadlines(context, database)
            if count:
                log.info("deadlines missed", extra={"count": count})
        except Exception:
            log.warning("deadline sweep failed", exc_info=True)
        await asyncio.sleep(context.settings.deadline_sweep_seconds)


def step_due_on(calendar: WorkingCalendar, allowed_at: datetime, working_days: int) -> date:
    """The due day of a step allowed at ``allowed_at`` with ``working_days`` to act: a
    step allowed on Friday afternoon with three working days is due on Wednesday (the
    day it was allowed, in Cambodia, does not count). Cambodian working days only: the
    agreements set the deadlines in the sending country's calendar, and MOSVY escalates."""
    return calendar.add_working_days(cambodian_date(allowed_at), working_days)


def step_overdue(due_on: date, now: datetime) -> bool:
    """Missed once the due day has ended in Cambodia (the sweep's rule)."""
    return cambodian_date(now) > due_on


def start_clocks(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    procedure: Procedure,
    now: datetime,
) -> None:
    """Start the clock of every step the case now waits for that has a deadline."""
    facts = domain.CaseFacts(
        is_open=True,
        is_child=case.is_child,
        consent_given=True,
        last_step=case.last_step,
        completed_kinds=frozenset(),
    )
    for step in domain.allowed_steps(procedure, facts):
        if step.deadline_working_days is None:
            continue
        uow.session.add(
            StepClock(
                case_id=case.id,
                counterpart_country=case.counterpart_country,
                step=step.id,
                acting_country=step.acting_country,
                working_days=step.deadline_working_days,
                started_at=now,
                due_on=step_due_on(context.calendar, now, step.deadline_working_days),
            )
        )
