"""The audit of the person's data: an entry for every read, write and disclosure, in the
transaction that does it. Every message queued to a counterpart is recorded as a
disclosure by the officer whose act caused it, or by the service itself
(``system/repatriation``) when it wrote of its own accord (a deadline reminder).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.audit import AuditAction, QueuedDisclosures, SystemActor, record_accesses
from nrm_runtime.auth import Principal

RESOURCE = "repatriation_case"
"""The audit's resource type: every entry names the case the person's data belongs to."""
TO_COUNTERPART = QueuedDisclosures(RESOURCE, "counterpart_liaison")
"""The messages a transaction queues to a counterpart: the person's case goes abroad."""


async def audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    case_ids: UUID | Iterable[UUID],
    purpose: str,
) -> None:
    """One audit entry per case whose person was read, written or disclosed."""
    await record_accesses(
        session,
        principal,
        action=action,
        resource_type=RESOURCE,
        record_ids=case_ids,
        purpose=purpose,
    )


def note_queued(session: AsyncSession, case_id: UUID) -> None:
    """Note that this transaction queues a message about ``case_id`` to its counterpart."""
    TO_COUNTERPART.note(session, case_id)


async def audit_disclosures(session: AsyncSession, principal: Principal) -> None:
    """A disclosure entry for every case this transaction queues a message about: it
    sends the person's case abroad (the first message, the person's names)."""
    await TO_COUNTERPART.record(session, principal)


async def audit_system_disclosures(
    session: AsyncSession, system: SystemActor, purpose: str
) -> None:
    """As :func:`audit_disclosures`, for the messages the service queued of its own
    accord; ``purpose`` says what made it write (``deadline_reminder``)."""
    await TO_COUNTERPART.record(session, system, purpose)
