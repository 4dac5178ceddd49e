"""The audit of the person's data in referral: what is read, written and disclosed.

Referral holds no names: the person's data here is the needs assessment (their wishes
and the assessor's notes, sealed), the profile a provider is sent (sex, age band,
languages, special needs, urgency), where the person is placed, and the follow-up
visits' notes (sealed). Each use case that reads, changes or discloses them writes an
audit entry in its own unit of work, so nothing is served whose entry did not commit.

Notices to a provider go out from the delivery table, later and without a caller: the
use case whose act queued them records each as a disclosure by the caller who caused it;
when the service queued them of its own accord (a reception referral on a handover, the
re-routing of an expired referral), by the service itself (``system/referral``).
"""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.audit import AuditAction, QueuedDisclosures, SystemActor, record_accesses
from nrm_runtime.auth import Principal

ASSESSMENT = "needs_assessment"
REFERRAL = "referral"
FOLLOW_UP = "follow_up_visit"
NOTICES = QueuedDisclosures(REFERRAL, "referral_notice")
"""The notices a transaction queues to providers: the person's profile goes out later."""


async def audit(
    session: AsyncSession,
    principal: Principal,
    action: AuditAction,
    resource_type: str,
    ids: UUID | Iterable[UUID],
    purpose: str,
) -> None:
    """One entry per record of the person's data read, written or disclosed (none for
    an empty list: nobody's data was served)."""
    await record_accesses(
        session,
        principal,
        action=action,
        resource_type=resource_type,
        record_ids=ids,
        purpose=purpose,
    )


def note_notice(session: AsyncSession, referral_id: UUID) -> None:
    """Note that this transaction queues a notice about ``referral_id`` to its provider."""
    NOTICES.note(session, referral_id)


async def audit_notices(session: AsyncSession, principal: Principal) -> None:
    """A disclosure entry for every referral whose notice this transaction queued: the
    person's profile goes to the provider (a re-route's successor included)."""
    await NOTICES.record(session, principal)


async def audit_system_notices(session: AsyncSession, system: SystemActor, purpose: str) -> None:
    """As :func:`audit_notices`, for the notices the service queued of its own accord;
    ``purpose`` says what made it act (``reception_referral``...)."""
    await NOTICES.record(session, system, purpose)
