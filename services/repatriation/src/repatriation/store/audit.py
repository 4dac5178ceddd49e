"""The audit of the person's data: an entry for every read, write and disclosure, in the
transaction that does it. Every message queued to a counterpart is recorded as a
disclosure by the officer whose act caused it, or by the service itself
(``system/repatriation``) when it wrote of its own accord (a deadline reminder).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.audit import AuditAction, SystemActor, record_access, record_system_access
from nrm_runtime.auth import Principal

RESOURCE = "repatriation_case"
"""The audit's resource type: every entry names the case the person's data belongs to."""


async def audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    case_ids: UUID | Iterable[UUID],
    purpose: str,
) -> None:
    """One audit entry per case whose person was read, written or disclosed."""
    ids = [case_ids] if isinstance(case_ids, UUID) else list(case_ids)
    if ids:
        await record_access(
            session,
            principal,
            action=action,
            resource_type=RESOURCE,
            resource_ids=[str(case_id) for case_id in ids],
            purpose=purpose,
        )


QUEUED = "repatriation.queued_to_counterpart"
"""Where a transaction's session notes the cases it queued messages about."""


def note_queued(session: AsyncSession, case_id: UUID) -> None:
    """Note that this transaction queues a message about ``case_id`` to its counterpart."""
    session.info.setdefault(QUEUED, []).append(case_id)


async def audit_disclosures(session: AsyncSession, principal: Principal) -> None:
    """A disclosure entry for every message this transaction queues to a counterpart:
    it sends the person's case abroad (the first message, the person's names)."""
    queued: list[UUID] = session.info.pop(QUEUED, [])
    await audit(session, principal, AuditAction.DISCLOSE, queued, "counterpart_liaison")


async def audit_system_disclosures(
    session: AsyncSession, system: SystemActor, purpose: str
) -> None:
    """As :func:`audit_disclosures`, for the messages the service queued of its own
    accord; ``purpose`` says what made it write (``deadline_reminder``)."""
    queued: list[UUID] = list(dict.fromkeys(session.info.pop(QUEUED, [])))
    if queued:
        await record_system_access(
            session,
            system,
            action=AuditAction.DISCLOSE,
            resource_type=RESOURCE,
            resource_ids=[str(case_id) for case_id in queued],
            purpose=purpose,
        )
