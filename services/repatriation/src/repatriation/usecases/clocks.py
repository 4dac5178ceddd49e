"""Step clocks in the case's transaction: started when a step becomes allowed, ended
when it is completed (its alternatives' clocks stop) or when the case closes."""

from __future__ import annotations

from datetime import datetime

from nrm_runtime.database import UnitOfWork
from repatriation.context import Repatriation
from repatriation.domain import rules
from repatriation.domain.clocks import step_due_on
from repatriation.domain.sop import Procedure, Step
from repatriation.store import ClockState, RepatriationCase, StepClock, running_clocks


def start_clocks(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    procedure: Procedure,
    now: datetime,
) -> None:
    """Start the clock of every step the case now waits for that has a deadline."""
    facts = rules.CaseFacts(
        is_open=True,
        is_child=case.is_child,
        consent_given=True,
        last_step=case.last_step,
        completed_kinds=frozenset(),
    )
    for step in rules.allowed_steps(procedure, facts):
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


async def end_clocks(
    uow: UnitOfWork, case: RepatriationCase, now: datetime, *, met: Step | None = None
) -> None:
    """Stop the case's running clocks: the completed step's (``met``) is met, the others
    (its alternatives, or all of them when the case closes) are cancelled."""
    for clock in await running_clocks(uow.session, case.id):
        clock.state = (
            ClockState.MET if met is not None and clock.step == met.id else (ClockState.CANCELLED)
        )
        clock.ended_at = now
