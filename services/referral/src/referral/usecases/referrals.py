"""The referral use cases: draft, move through the lifecycle, re-route, follow up.

Every change commits with its events (outbox) and its notices to the provider (the
delivery table) in one unit of work.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

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
from nrm_runtime.audit import AuditAction, SystemActor
from nrm_runtime.auth import Principal
from nrm_runtime.database import Database, UnitOfWork
from nrm_runtime.errors import Conflict, Invalid, NotFound, NotPermitted
from referral.access import coordination_case, party_of, visible_referral
from referral.context import ReferralContext
from referral.domain.lifecycle import (
    Action,
    NotYourAction,
    Party,
    ReferralState,
    TransitionRefused,
    allowed_actions,
    next_state,
    reason_for,
)
from referral.domain.matching import RESIDENTIAL, population_group, refusal
from referral.schemas.referrals import (
    FollowUpRecord,
    ReferralCreate,
    ReferralPublic,
    TransitionRequest,
)
from referral.store import (
    FacilityView,
    FollowUpVisit,
    NeedsAssessment,
    Referral,
    ReferralCase,
    ReferralStep,
    split,
)
from referral.store.directory import as_facility, facility
from referral.store.referrals import steps_of
from referral.usecases.assessment import (
    assessment_of,
    candidates_for,
    person_of,
    record_gap,
    refuse_if_withdrawn,
    tried_facilities,
)
from referral.usecases.notices import enqueue_notices
from referral.usecases.privacy import (
    FOLLOW_UP,
    REFERRAL,
    audit,
    audit_notices,
    audit_system_notices,
)
from referral.views.referrals import referral_public

TABLE = "referral"
SYSTEM_ACTOR = "referral/system"
DECLINE_REROUTE = "referral_decline_reroute"
"""The audit's purpose of the notices a decline queues (the re-route's)."""


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


async def refer(
    database: Database,
    context: ReferralContext,
    principal: Principal,
    case_id: UUID,
    request: ReferralCreate,
) -> Referral:
    """Draft a referral of the case to one facility that can meet the assessed needs."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        case = await coordination_case(uow.session, case_id)
        refuse_if_withdrawn(case)
        assessment = await assessment_of(uow, case, "referring")
        assessed = split(assessment.needs)
        for index, need in enumerate(request.needs):
            if need not in assessed:
                raise Invalid(f"{need} is not among the assessed needs", field=f"needs.{index}")
        view = await facility(uow.session, request.facility_id)
        if view is None:
            raise Invalid(
                "no such facility in the registry", code="unknown_facility", field="facility_id"
            )
        person = person_of(case, assessment)
        for need in request.needs:
            why_not = refusal(as_facility(view), person, need)
            if why_not is not None:
                raise Invalid(
                    f"{view.name} {why_not} ({need})",
                    code="facility_cannot_serve",
                    field="facility_id",
                )
        referral = draft(uow, context, case, view, list(request.needs), request.officer_contact)
        await uow.commit()
    return referral


async def move(
    database: Database,
    context: ReferralContext,
    principal: Principal,
    referral_id: UUID,
    step: Action,
    request: TransitionRequest,
) -> ReferralPublic:
    """Take ``step`` on the referral as the caller's party; the referral as it reads it.
    Out of order: 409 naming the actions the caller may take now."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await visible_referral(uow.session, principal, referral_id, context)
        try:
            await act(
                uow,
                context,
                referral,
                step,
                party_of(principal, referral, step),
                str(principal.actor),
                reason=request.reason,
                exit_reason=request.exit_reason,
            )
        except TransitionRefused as refused:
            # Named to the caller: the actions it may take now, not another party's.
            yours = allowed_actions(
                refused.state, lambda action: party_of(principal, referral, action)
            )
            raise Conflict(
                refused.explained(yours), code="transition_not_allowed", field="action"
            ) from None
        except NotYourAction as denied:
            raise NotPermitted(str(denied)) from None
        await audit(
            uow.session, principal, AuditAction.WRITE, REFERRAL, referral.id, "referral_lifecycle"
        )
        if step is Action.DECLINE:
            # The provider declined; the service chose the next one and sent it the
            # profile: that disclosure is the service's, not the declining staff's.
            system = SystemActor.of(context.settings)
            await audit_system_notices(uow.session, system, DECLINE_REROUTE)
        else:
            await audit_notices(uow.session, principal)
        await uow.commit()
        return referral_public(referral, await steps_of(uow.session, referral.id), principal)


async def record_follow_up(
    database: Database,
    context: ReferralContext,
    principal: Principal,
    referral_id: UUID,
    visit_id: UUID,
    request: FollowUpRecord,
) -> FollowUpVisit:
    """Record a visit once made (its notes sealed); by the coordination or the provider."""
    today: date = context.clock().date()
    if request.visited_on > today:
        raise Invalid("a visit is recorded once made", field="visited_on")
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await visible_referral(uow.session, principal, referral_id, context)
        visit = await uow.session.get(FollowUpVisit, visit_id)
        if visit is None or visit.referral_id != referral.id:
            raise NotFound("follow-up visit")
        if visit.visited_on is not None:
            raise Conflict("this visit is already recorded", code="already_recorded")
        visit.visited_on = request.visited_on
        visit.recorded_by = str(principal.actor)
        if request.notes:
            visit.notes_sealed = context.seal(
                request.notes, "follow_up_visit", visit.id, "notes_sealed"
            )
        uow.session.add(visit)
        await audit(uow.session, principal, AuditAction.WRITE, FOLLOW_UP, visit.id, "follow_up")
        await uow.commit()
    return visit


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
    reason_code = reason_for(action, reason, exit_reason)
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
