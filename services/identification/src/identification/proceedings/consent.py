"""The consent a link to criminal proceedings rests on, and the announcement of a
consent change whatever its purpose."""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from identification.store import ConsentRecord
from identification.store.queries import consents_of, in_force
from identification.usecases.screenings import consent_changed
from nrm_contracts import EventPayload
from nrm_contracts.events.identification import (
    ConsentChangedV2,
    ConsentPurpose,
    ConsentPurposeV2,
    ConsentStatus,
)


async def consents_to_proceedings(session: AsyncSession, case_id: UUID) -> bool:
    """Whether the person's consent to ``legal_proceedings`` is in force (given and not
    withdrawn since; a child's rests on a guardian or best-interest basis, as every
    consent recorded for a child does)."""
    current = next(
        (
            record
            for record in in_force(await consents_of(session, case_id))
            if record.purpose == ConsentPurposeV2.LEGAL_PROCEEDINGS
        ),
        None,
    )
    return current is not None and current.status == ConsentStatus.GIVEN


def consent_announcement(
    record: ConsentRecord, person_ref: UUID, child: bool | None
) -> EventPayload:
    """``consent.changed.v1`` for the purposes its readers know; v2 for the others
    (``legal_proceedings``), which a v1 reader would refuse."""
    if record.purpose in set(ConsentPurpose):
        return consent_changed(record, person_ref, child)
    return ConsentChangedV2(
        case_id=record.case_id,
        consent_id=record.id,
        person_ref=person_ref,
        purpose=ConsentPurposeV2(record.purpose),
        status=ConsentStatus(record.status),
        basis=record.basis,
        is_child=child,
        recorded_at=record.recorded_at,
    )
