"""Closing a case: by its procedure's last step, or by an officer before that (consent
withdrawn, the person not returned); the counterpart is told."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from nrm_contracts.events.repatriation import ClosureOutcome, Direction, RepatriationClosed
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid
from repatriation.context import Repatriation
from repatriation.schemas.cases import CasePublic
from repatriation.store import CaseStatus, RepatriationCase
from repatriation.usecases.clocks import end_clocks
from repatriation.usecases.liaison_outbox import case_reference, queue_message
from repatriation.usecases.officer_changes import change_case_as_officer


def close(uow: UnitOfWork, case: RepatriationCase, outcome: ClosureOutcome, now: datetime) -> None:
    """Close ``case`` with ``outcome`` and announce it."""
    case.status = CaseStatus.CLOSED
    case.outcome = outcome
    case.closed_at = now
    uow.record(
        RepatriationClosed(
            repatriation_case_id=case.id,
            direction=Direction(case.direction),
            counterpart_country=case.counterpart_country,
            outcome=outcome,
            last_step=case.last_step,
            closed_at=now,
        )
    )


async def end_case(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    outcome: ClosureOutcome,
    organisation: str,
) -> None:
    """An officer ends a case before its procedure does (consent withdrawn, not returned)."""
    if case.status != CaseStatus.OPEN:
        raise Conflict("the case is closed", code="case_closed")
    if outcome is ClosureOutcome.RETURNED:
        raise Invalid("a case closes as returned by its procedure's last step", field="outcome")
    now = context.clock()
    await end_clocks(uow, case, now)
    case.updated_at = now
    close(uow, case, outcome, now)
    queue_message(
        uow,
        context.keys,
        case,
        organisation=organisation,
        message_type="case_closed",
        body={**case_reference(case), "outcome": outcome.value, "closed_at": now.isoformat()},
        now=now,
    )


async def close_case(
    database: Database,
    context: Repatriation,
    principal: Principal,
    case_id: UUID,
    outcome: ClosureOutcome,
) -> CasePublic:
    """An officer ends a case before its procedure does."""

    async def act(uow: UnitOfWork, case: RepatriationCase) -> None:
        await end_case(context, uow, case, outcome, principal.organisation)

    return await change_case_as_officer(database, context, principal, case_id, "case_closure", act)
