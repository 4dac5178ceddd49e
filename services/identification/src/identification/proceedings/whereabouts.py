"""The whereabouts read model: whether a person is still in Cambodia and in assistance,
reintegrated, repatriated (to which country) or no longer known to be anywhere, kept
from referral's and repatriation's events by identification's consumer, so that the
prosecution's status view asks no other service on the request path.

Events of two topics arrive in no common order: a status is replaced only by one that
happened later (each event's own time), except that a repatriation learns its country
whenever that comes. The shelter, its organisation and its place never enter this model:
placements are recorded as "in assistance", nothing more.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from sqlmodel import col, select

from identification.proceedings.store import (
    CaseWhereabouts,
    WhereaboutsReferralCase,
    WhereaboutsRepatriationCase,
)
from nrm_contracts.events.referral import (
    PlacementEnded,
    PlacementExitReason,
    PlacementStarted,
    ReferralCaseOpened,
    ReferralOpened,
)
from nrm_contracts.events.repatriation import (
    ClosureOutcome,
    Direction,
    HandoverCompleted,
    RepatriationClosed,
    RepatriationProposed,
)
from nrm_runtime.database import UnitOfWork

# Who may be the prosecution's contact: the NRM's case managers and Competent Authority
# officers acting on the referral case; never a provider's staff (a shelter).
_CONTACT_ROLES = frozenset({"case_manager", "competent_authority"})


class Whereabouts(StrEnum):
    IN_ASSISTANCE = "in_assistance"
    REINTEGRATED = "reintegrated"
    REPATRIATED = "repatriated"
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown"


_AFTER_EXIT = {
    PlacementExitReason.REINTEGRATED: Whereabouts.REINTEGRATED,
    PlacementExitReason.TRANSFERRED: Whereabouts.IN_ASSISTANCE,
    PlacementExitReason.REPATRIATED: Whereabouts.REPATRIATED,
    PlacementExitReason.LEFT: Whereabouts.WHEREABOUTS_UNKNOWN,
    PlacementExitReason.OTHER: Whereabouts.WHEREABOUTS_UNKNOWN,
}


def _contact_of(uow: UnitOfWork) -> str | None:
    actor = uow.actor
    if actor is None or not set(actor.role.split(",")) & _CONTACT_ROLES:
        return None
    return actor.organisation


async def _update(
    uow: UnitOfWork,
    case_id: UUID,
    at: datetime,
    status: Whereabouts | None,
    *,
    country: str | None = None,
    contact: str | None = None,
) -> None:
    row = await uow.session.get(CaseWhereabouts, case_id)
    if row is None:
        row = CaseWhereabouts(
            case_id=case_id,
            status=status or Whereabouts.IN_ASSISTANCE,
            country=country,
            contact_organisation=contact,
            as_of=at,
        )
    else:
        if status is not None and at >= row.as_of:
            row.status, row.as_of = status, at
            row.country = country if status is Whereabouts.REPATRIATED else None
        elif status is Whereabouts.REPATRIATED and row.status == status and row.country is None:
            row.country = country
        if contact is not None:
            row.contact_organisation = contact
    uow.session.add(row)


async def _referral_case(uow: UnitOfWork, referral_case_id: UUID) -> UUID | None:
    link = await uow.session.get(WhereaboutsReferralCase, referral_case_id)
    return link.case_id if link else None


async def _repatriation_case(
    uow: UnitOfWork, repatriation_case_id: UUID
) -> WhereaboutsRepatriationCase | None:
    return await uow.session.get(WhereaboutsRepatriationCase, repatriation_case_id)


async def on_referral_case_opened(event: ReferralCaseOpened, uow: UnitOfWork) -> None:
    """The NRM opened a referral case: the person is in its assistance."""
    if await uow.session.get(WhereaboutsReferralCase, event.referral_case_id) is None:
        uow.session.add(
            WhereaboutsReferralCase(
                referral_case_id=event.referral_case_id, case_id=event.identification_case_id
            )
        )
    await _update(
        uow,
        event.identification_case_id,
        event.opened_at,
        Whereabouts.IN_ASSISTANCE,
        contact=_contact_of(uow),
    )


async def on_referral_opened(event: ReferralOpened, uow: UnitOfWork) -> None:
    """A case manager referred the person: that officer's organisation is the contact
    (the event's provider, the shelter, is not)."""
    case_id = await _referral_case(uow, event.referral_case_id)
    contact = _contact_of(uow)
    if case_id is not None and contact is not None:
        await _update(uow, case_id, event.opened_at, None, contact=contact)


async def on_placement_started(event: PlacementStarted, uow: UnitOfWork) -> None:
    case_id = await _referral_case(uow, event.referral_case_id)
    if case_id is not None:
        await _update(uow, case_id, event.started_at, Whereabouts.IN_ASSISTANCE)


async def on_placement_ended(event: PlacementEnded, uow: UnitOfWork) -> None:
    case_id = await _referral_case(uow, event.referral_case_id)
    if case_id is None:
        return
    status = _AFTER_EXIT[event.exit_reason]
    country = None
    if status is Whereabouts.REPATRIATED:
        # The country is repatriation's to say; it may have said it already.
        returns = await _repatriations_of(uow, case_id)
        country = next((r.country for r in returns if r.direction == Direction.OUTBOUND), None)
    await _update(uow, case_id, event.ended_at, status, country=country)


async def _repatriations_of(uow: UnitOfWork, case_id: UUID) -> list[WhereaboutsRepatriationCase]:
    found = await uow.session.exec(
        select(WhereaboutsRepatriationCase).where(
            col(WhereaboutsRepatriationCase.case_id) == case_id
        )
    )
    return list(found.all())


async def on_repatriation_proposed(event: RepatriationProposed, uow: UnitOfWork) -> None:
    """Remember which case the return concerns; nothing has moved yet."""
    if event.identification_case_id is None:
        return
    if await _repatriation_case(uow, event.repatriation_case_id) is None:
        uow.session.add(
            WhereaboutsRepatriationCase(
                repatriation_case_id=event.repatriation_case_id,
                case_id=event.identification_case_id,
                direction=event.direction,
                country=event.counterpart_country,
            )
        )


async def on_handover_completed(event: HandoverCompleted, uow: UnitOfWork) -> None:
    """Handed over at the border: an outbound person has left Cambodia for the
    counterpart country; an inbound one is back, received into assistance."""
    link = await _repatriation_case(uow, event.repatriation_case_id)
    case_id = link.case_id if link else event.identification_case_id
    if case_id is None:
        return
    if event.direction is Direction.OUTBOUND:
        await _update(
            uow,
            case_id,
            event.completed_at,
            Whereabouts.REPATRIATED,
            country=event.counterpart_country,
        )
    else:
        await _update(uow, case_id, event.completed_at, Whereabouts.IN_ASSISTANCE)


async def on_repatriation_closed(event: RepatriationClosed, uow: UnitOfWork) -> None:
    """A return closed as returned counts as a repatriation even when no handover
    event was seen (a case closed after a return arranged outside the SOP's steps)."""
    link = await _repatriation_case(uow, event.repatriation_case_id)
    if (
        link is None
        or event.direction is not Direction.OUTBOUND
        or event.outcome is not ClosureOutcome.RETURNED
    ):
        return
    await _update(uow, link.case_id, event.closed_at, Whereabouts.REPATRIATED, country=link.country)
