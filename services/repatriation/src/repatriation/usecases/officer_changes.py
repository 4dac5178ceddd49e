"""An officer's change of a case, in one transaction: the case is read, changed, its
change audited, and answered with the case as it now is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from nrm_runtime.audit import AuditAction
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from repatriation.context import Repatriation
from repatriation.schemas.cases import CasePublic
from repatriation.store import RepatriationCase, audit, audit_disclosures, case_for_officer
from repatriation.views.cases import case_view


async def change_case_as_officer(
    database: Database,
    context: Repatriation,
    principal: Principal,
    case_id: UUID,
    purpose: str,
    act: Callable[[UnitOfWork, RepatriationCase], Awaitable[None]],
) -> CasePublic:
    """Apply ``act`` to the case. A change of the case answers with its person (a write)
    and may send a message to the counterpart (a disclosure)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await case_for_officer(uow.session, case_id)
        await act(uow, case)
        await audit(uow.session, principal, AuditAction.WRITE, case.id, purpose)
        await audit_disclosures(uow.session, principal)
        await uow.commit()
        return await case_view(context, uow.session, case)
