"""Overdue decisions: each deadline passed is announced once.

It runs in every replica of the service; the unique overdue notice (case, deadline, due
day) makes a second announcement of the same deadline fail, whoever tries it.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from identification.store import IdentificationCase, OverdueNotice
from nrm_contracts.events.identification import DeadlineKind, DecisionOverdue
from nrm_runtime.clock import Clock, today_in_cambodia
from nrm_runtime.database import Database

log = logging.getLogger(__name__)

BATCH = 500  # cases per round; the next round takes the rest


async def announce_overdue(database: Database, clock: Clock) -> int:
    """Announce every deadline passed and not yet announced; return how many."""
    today = today_in_cambodia(clock)
    async with database.session() as session:
        unannounced = ~exists().where(
            col(OverdueNotice.case_id) == col(IdentificationCase.id),
            col(OverdueNotice.deadline) == col(IdentificationCase.next_deadline),
            col(OverdueNotice.due_on) == col(IdentificationCase.next_deadline_on),
        )
        due = await session.exec(
            select(IdentificationCase)
            .where(
                col(IdentificationCase.next_deadline_on).is_not(None),
                col(IdentificationCase.next_deadline_on) < today,
                unannounced,
            )
            .limit(BATCH)
        )
        late = list(due.all())
    announced = 0
    for case in late:
        kind, due_on = DeadlineKind(str(case.next_deadline)), case.next_deadline_on
        if due_on is None:
            continue
        try:
            async with database.unit_of_work() as uow:
                notice = OverdueNotice(
                    case_id=case.id, deadline=kind, due_on=due_on, detected_at=clock()
                )
                uow.session.add(notice)
                uow.record(
                    DecisionOverdue(
                        case_id=case.id,
                        deadline=kind,
                        due_on=due_on,
                        detected_at=notice.detected_at,
                    )
                )
                await uow.commit()
        except IntegrityError:
            continue  # another replica announced it first
        announced += 1
    return announced
