"""The consent to return, withdrawn (no handover while it is) or given again; the
counterpart is told."""

from __future__ import annotations

from uuid import UUID

from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid
from repatriation.context import Repatriation
from repatriation.domain import rules
from repatriation.schemas.cases import CasePublic, ConsentChange
from repatriation.store import CaseStatus, RepatriationCase
from repatriation.usecases.liaison_outbox import case_reference, queue_message
from repatriation.usecases.officer_changes import change_case_as_officer


async def change_consent(
    database: Database,
    context: Repatriation,
    principal: Principal,
    case_id: UUID,
    change: ConsentChange,
) -> CasePublic:
    """An officer records the consent to return withdrawn or given again."""

    async def act(uow: UnitOfWork, case: RepatriationCase) -> None:
        await _change_consent(context, uow, case, change, principal.organisation)

    return await change_case_as_officer(
        database, context, principal, case_id, "consent_change", act
    )


async def _change_consent(
    context: Repatriation,
    uow: UnitOfWork,
    case: RepatriationCase,
    change: ConsentChange,
    organisation: str,
) -> None:
    """Record the consent to return given again or withdrawn; the counterpart is told."""
    if case.status != CaseStatus.OPEN:
        raise Conflict("the case is closed", code="case_closed")
    problem = rules.consent_basis_problem(case.is_child, change.basis)
    if problem is not None:
        raise Invalid(problem, field="basis")
    now = context.clock()
    case.consent_status = change.status
    case.consent_basis = change.basis
    case.consent_recorded_on = change.recorded_on
    case.updated_at = now
    queue_message(
        uow,
        context.keys,
        case,
        organisation=organisation,
        message_type="consent_changed",
        body={**case_reference(case), "consent_to_return": change.status.value},
        now=now,
    )
