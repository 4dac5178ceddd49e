"""The referral use cases: draft, move through the lifecycle, re-route, follow up.

Every change commits with its events (outbox) and its notices to the provider (the
delivery table) in one unit of work.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID, uuid4

from sqlmodel import col, select

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.notices import NoticeEvent
from nrm_contracts.events.referral import (
    CancellationReason,
    DeclineReason,
    PlacementEnded,
    PlacementExitReason,
    PlacementStarted,
    ReferralAccepted,
    ReferralCancelled,
    ReferralClosed,
    ReferralDeclined,
    ReferralExpired,
    ReferralNeed,
    ReferralOpened,
    ReferralSent,
)
from nrm_runtime.audit import SystemActor
from nrm_runtime.database import UnitOfWork
from nrm_runtime.errors import ProblemError
from referral.assessment import candidates_for, record_gap, split, tried_facilities
from referral.context import ReferralContext
from referral.delivery import enqueue_notices
from referral.lifecycle import Action, Party, ReferralState, next_state
from referral.matching import RESIDENTIAL, population_group
from referral.privacy import audit_system_notices
from referral.store import (
    FacilityView,
    FollowUpVisit,
    NeedsAssessment,
    Referral,
    ReferralCase,
    ReferralStep,
)

TABLE = "referral"
SYSTEM_ACTOR = "referral/system"
EXPIRY_REROUTE = "referral_expiry_reroute"
DECLINE_REROUTE = "referral_decline_reroute"
"""The audit's purpose of the notices an expiry queues (the expiry, the re-route)."""
FOLLOW_UP_DUE = "referral_follow_up_due"


def draft(
    uow: UnitOfWork,
    context: ReferralContext,
    case: ReferralCase,
    facility: FacilityView,
    needs: list[ReferralNeed],
    officer_contact: str | None,
    *,
    kind: str = "aftercare",
) -> Referral:
    """A draft referral of ``case`` to ``facility`` for ``needs``."""
    now = context.clock()
    referral = Referral(
        id=uuid4(),
        referral_case_id=case.id,
        organisation_id=facility.organisation_id,
        facility_id=facility.facility_id,
        facility_type=facility.facility_type,
        needs=",".join(dict.fromkeys(needs)),
        state=ReferralState.DRAFT,
        # Residential aftercare needs MOSVY's sign-off; a reception at the receiving
        # transit centre was agreed in the repatriation procedure itself.
        requires_signoff=kind == "aftercare" and facility.facility_type in RESIDENTIAL,
        kind=kind,
        created_at=now,
        updated_at=now,
    )
    if officer_contact:
        referral.officer_contact_sealed = context.seal(
            officer_contact, TABLE, referral.id, "officer_contact_sealed"
        )
    uow.session.add(referral)
    uow.record(
        ReferralOpened(
            **_ids(referral),
            needs=[ReferralNeed(n) for n in split(referral.needs)],
            requires_signoff=referral.requires_signoff,
            opened_at=now,
        )
    )
    return referral


async def act(
    uow: UnitOfWork,
    context: ReferralContext,
    referral: Referral,
    action: Action,
    party: Party,
    actor: str,
    *,
    reason: str | None = None,
    exit_reason: PlacementExitReason | None = None,
) -> Referral:
    """Take ``action`` on ``referral`` as ``party``; 409 out of order, 422 without reason."""
    reason_code = _reason_for(action, reason, exit_reason)
    case = await uow.session.get(ReferralCase, referral.referral_case_id)
    assert case is not None  # a referral's case is never deleted (foreign key)
    source = ReferralState(referral.state)
    target = next_state(source, action, party, requires_signoff=referral.requires_signoff)
    now = context.clock()
    referral.state = target
    referral.updated_at = now
    uow.session.add(
        ReferralStep(
            referral_id=referral.id,
            action=action,
            from_state=source,
            to_state=target,
            actor=actor,
            at=now,
        )
    )
    ids = _ids(referral)
    if target is ReferralState.SENT:
        referral.answer_due_at = now + timedelta(hours=context.settings.provider_answer_hours)
        uow.record(ReferralSent(**ids, answer_due_at=referral.answer_due_at, sent_at=now))
    elif target is ReferralState.ACCEPTED:
        uow.record(ReferralAccepted(**ids, accepted_at=now))
    elif target is ReferralState.DECLINED:
        assert isinstance(reason_code, DeclineReason)
        referral.decline_reason = reason_code
        uow.record(ReferralDeclined(**ids, reason=reason_code, declined_at=now))
    elif target is ReferralState.EXPIRED:
        referral.escalated_at = now
        assert referral.answer_due_at is not None
        uow.record(ReferralExpired(**ids, answer_due_at=referral.answer_due_at, expired_at=now))
    elif target is ReferralState.CANCELLED:
        assert isinstance(reason_code, CancellationReason)
        referral.cancel_reason = reason_code
        uow.record(ReferralCancelled(**ids, reason=reason_code, cancelled_at=now))
    elif target is ReferralState.ADMITTED and referral.facility_type in RESIDENTIAL:
        referral.placement_id = uuid4()
        uow.record(PlacementStarted(**_placement(referral, case), started_at=now))
    elif target is ReferralState.EXITED:
        assert exit_reason is not None
        referral.exit_reason = exit_reason
        if referral.placement_id is not None:
            uow.record(
                PlacementEnded(**_placement(referral, case), exit_reason=exit_reason, ended_at=now)
            )
        if exit_reason is PlacementExitReason.REINTEGRATED:
            for days in context.settings.follow_up_days:
                uow.session.add(
                    FollowUpVisit(
                        referral_id=referral.id, due_on=(now + timedelta(days=days)).date()
                    )
                )
    elif target is ReferralState.CLOSED:
        exited = PlacementExitReason(referral.exit_reason) if referral.exit_reason else None
        uow.record(ReferralClosed(**ids, exit_reason=exited, closed_at=now))
    uow.session.add(referral)
    # The provider hears of every change to a referral once it was sent to it (a
    # cancellation before that concerns MOSVY only).
    if source not in (ReferralState.DRAFT, ReferralState.AWAITING_SIGNOFF) or (
        target is ReferralState.SENT
    ):
        # What the provider did itself, confirmed to it, discloses nothing it does not
        # hold: no disclosure to audit.
        await enqueue_notices(
            uow, context, referral, case, NOTICE_OF[target], audited=party is not Party.PROVIDER
        )
    if target in (ReferralState.DECLINED, ReferralState.EXPIRED):
        successor = await reroute(uow, context, referral, case)
        if successor is not None and target is ReferralState.EXPIRED:
            # It did not answer in time, and the person is now referred elsewhere.
            await enqueue_notices(uow, context, referral, case, NoticeEvent.REROUTED)
    return referral


# The notice of each state a referral reaches once sent.
NOTICE_OF = {
    ReferralState.SENT: NoticeEvent.SENT,
    ReferralState.ACCEPTED: NoticeEvent.ACCEPTED,
    ReferralState.DECLINED: NoticeEvent.DECLINED,
    ReferralState.EXPIRED: NoticeEvent.EXPIRED,
    ReferralState.ADMITTED: NoticeEvent.ADMITTED,
    ReferralState.EXITED: NoticeEvent.EXITED,
    ReferralState.CLOSED: NoticeEvent.CLOSED,
    ReferralState.CANCELLED: NoticeEvent.CANCELLED,
}


async def reroute(
    uow: UnitOfWork, context: ReferralContext, ended: Referral, case: ReferralCase
) -> Referral | None:
    """Refer the case to the next candidate for the same needs (a facility not tried yet),
    submitted at once: to sign-off when residential, else straight to the provider.
    No candidate left: the need is a service gap."""
    await uow.session.flush()
    assessment = await uow.session.get(NeedsAssessment, case.id)
    needs = [ReferralNeed(n) for n in split(ended.needs)]
    tried = await tried_facilities(uow.session, case.id)
    candidates = await candidates_for(uow.session, case, assessment, needs[0], excluding=tried)
    if not candidates:
        await record_gap(uow, context, case, needs[0])
        return None
    facility = await uow.session.get(FacilityView, UUID(candidates[0].facility.facility_id))
    assert facility is not None
    contact = context.open(ended.officer_contact_sealed, TABLE, ended.id, "officer_contact_sealed")
    successor = draft(uow, context, case, facility, needs, contact, kind=ended.kind)
    await uow.session.flush()
    return await act(uow, context, successor, Action.SUBMIT, Party.COORDINATOR, SYSTEM_ACTOR)


async def expire_overdue(uow: UnitOfWork, context: ReferralContext) -> int:
    """Expire every referral whose provider did not answer in time (escalated, re-routed)."""
    now = context.clock()
    overdue = await uow.session.exec(
        select(Referral).where(
            col(Referral.state) == ReferralState.SENT, col(Referral.answer_due_at) <= now
        )
    )
    count = 0
    for referral in list(overdue.all()):
        await act(uow, context, referral, Action.EXPIRE, Party.CLOCK, SYSTEM_ACTOR)
        count += 1
    # The expired provider is told, and the successor's provider sent the profile.
    await audit_system_notices(uow.session, SystemActor.of(context.settings), EXPIRY_REROUTE)
    return count


async def notice_follow_ups_due(uow: UnitOfWork, context: ReferralContext) -> int:
    """Tell each provider, once, of the follow-up visits due by today not yet made."""
    today = context.clock().date()
    due = await uow.session.exec(
        select(FollowUpVisit).where(
            col(FollowUpVisit.due_on) <= today,
            col(FollowUpVisit.visited_on).is_(None),
            col(FollowUpVisit.due_noticed_at).is_(None),
        )
    )
    count = 0
    for visit in list(due.all()):
        referral = await uow.session.get(Referral, visit.referral_id)
        assert referral is not None  # a visit's referral is never deleted (foreign key)
        case = await uow.session.get(ReferralCase, referral.referral_case_id)
        assert case is not None
        await enqueue_notices(
            uow, context, referral, case, NoticeEvent.FOLLOW_UP_DUE, follow_up_due_on=visit.due_on
        )
        visit.due_noticed_at = context.clock()
        uow.session.add(visit)
        count += 1
    await audit_system_notices(uow.session, SystemActor.of(context.settings), FOLLOW_UP_DUE)
    return count


def _reason_for(
    action: Action, reason: str | None, exit_reason: PlacementExitReason | None
) -> DeclineReason | CancellationReason | None:
    """The action's reason code; 422 naming the field when missing, unknown or not asked."""
    vocabularies: dict[Action, type[DeclineReason] | type[CancellationReason]] = {
        Action.DECLINE: DeclineReason,
        Action.CANCEL: CancellationReason,
    }
    vocabulary = vocabularies.get(action)
    if action is Action.EXIT and exit_reason is None:
        raise ProblemError(422, "invalid_input", "exit needs an exit_reason", "exit_reason")
    if action is not Action.EXIT and exit_reason is not None:
        raise ProblemError(422, "invalid_input", f"{action} takes no exit_reason", "exit_reason")
    if vocabulary is None:
        if reason is not None:
            raise ProblemError(422, "invalid_input", f"{action} takes no reason", "reason")
        return None
    codes = ", ".join(vocabulary)
    if reason is None:
        raise ProblemError(
            422, "invalid_input", f"{action} needs a reason: one of {codes}", "reason"
        )
    try:
        return vocabulary(reason)
    except ValueError:
        raise ProblemError(
            422, "invalid_input", f"unknown {action} reason {reason!r}: one of {codes}", "reason"
        ) from None


def _ids(referral: Referral) -> dict[str, object]:
    return {
        "referral_case_id": referral.referral_case_id,
        "referral_id": referral.id,
        "organisation_id": referral.organisation_id,
        "facility_id": referral.facility_id,
    }


def _placement(referral: Referral, case: ReferralCase) -> dict[str, object]:
    return {
        "referral_case_id": referral.referral_case_id,
        "referral_id": referral.id,
        "placement_id": referral.placement_id,
        "facility_id": referral.facility_id,
        "population_group": population_group(case.sex, case.is_child),
        "sex": Sex(case.sex),
        "age_band": AgeBand(case.age_band),
    }
