"""The clock's work on referrals: expiring the ones whose provider did not answer in
time, and telling providers of the follow-up visits that fell due."""

from __future__ import annotations

from sqlmodel import col, select

from nrm_contracts.events.notices import NoticeEvent
from nrm_runtime.audit import SystemActor
from nrm_runtime.database import Database, UnitOfWork
from referral.context import ReferralContext
from referral.domain.lifecycle import Action, Party, ReferralState
from referral.store import FollowUpVisit, Referral, ReferralCase
from referral.usecases.notices import enqueue_notices
from referral.usecases.privacy import audit_system_notices
from referral.usecases.referrals import SYSTEM_ACTOR, act

EXPIRY_REROUTE = "referral_expiry_reroute"
"""The audit's purpose of the notices an expiry queues (the expiry, the re-route)."""
FOLLOW_UP_DUE = "referral_follow_up_due"


async def sweep_deadlines(database: Database, context: ReferralContext) -> int:
    """One sweep: expire the referrals whose provider did not answer in time, and tell
    providers of the follow-up visits that fell due; how many it handled."""
    async with database.unit_of_work() as uow:
        done = await expire_overdue(uow, context) + await notice_follow_ups_due(uow, context)
        if done:
            await uow.commit()
    return done


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
