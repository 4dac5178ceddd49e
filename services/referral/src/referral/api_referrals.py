"""Routes of the referral lifecycle, escalations and follow-up visits."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from uuid import UUID

from fastapi import APIRouter
from sqlmodel import col, select
from starlette.convertors import Convertor, register_url_convertor

from nrm_runtime.audit import AuditAction, SystemActor
from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep
from referral.access import (
    COORDINATION_CASE,
    COORDINATION_LIST,
    PARTY_CHANGE,
    PARTY_READ,
    AnyParty,
    Coordinator,
    coordination_case,
    party_of,
    visible_referral,
)
from referral.context import ContextDep
from referral.lifecycle import Action, NotYourAction, TransitionRefused, allowed_actions
from referral.models import FollowUpPublic, FollowUpRecord, ReferralPublic, TransitionRequest
from referral.privacy import FOLLOW_UP, REFERRAL, audit, audit_notices, audit_system_notices
from referral.referrals import DECLINE_REROUTE, act
from referral.store import FollowUpVisit, Referral, ReferralStep
from referral.views import referral_public

router = APIRouter(tags=["referrals"])


class CallerAction(StrEnum):
    """The lifecycle's actions a caller may take: ``expire`` is the clock's alone, so the
    path parameter's enum (the schema) does not offer it."""

    SUBMIT = Action.SUBMIT.value
    SIGN_OFF = Action.SIGN_OFF.value
    ACCEPT = Action.ACCEPT.value
    DECLINE = Action.DECLINE.value
    ADMIT = Action.ADMIT.value
    EXIT = Action.EXIT.value
    CLOSE = Action.CLOSE.value
    CANCEL = Action.CANCEL.value


class _ActionSegment(Convertor[str]):
    """Matches only the actions a caller may take, so that ``POST /referrals/{id}/<other>``
    (``follow-ups``, say, or ``expire``) is not taken for an action: it answers 405 or
    404, not 422."""

    regex = "|".join(re.escape(action.value) for action in CallerAction)

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Starlette compiles a route's path with the convertors registered by then.
register_url_convertor("referral_action", _ActionSegment())


async def _steps(session, referral_id: UUID) -> list[ReferralStep]:  # type: ignore[no-untyped-def]
    query = select(ReferralStep).where(col(ReferralStep.referral_id) == referral_id)
    return list((await session.exec(query.order_by(col(ReferralStep.id)))).all())


@router.get(
    "/referral-cases/{case_id}/referrals",
    response_model=list[ReferralPublic],
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=COORDINATION_CASE,
)
async def case_referrals(
    case_id: UUID, database: DatabaseDep, principal: Coordinator
) -> list[ReferralPublic]:
    """Every referral of the case, oldest first, with its history."""
    async with database.session() as session:
        await coordination_case(session, case_id)
        query = select(Referral).where(col(Referral.referral_case_id) == case_id)
        referrals = (await session.exec(query.order_by(col(Referral.created_at)))).all()
        return [referral_public(r, await _steps(session, r.id), principal) for r in referrals]


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralPublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PARTY_READ,
)
async def get_referral(
    referral_id: UUID, database: DatabaseDep, context: ContextDep, principal: AnyParty
) -> ReferralPublic:
    """One referral: the coordination sees all, a provider only those addressed to it."""
    async with database.session() as session:
        referral = await visible_referral(session, principal, referral_id, context)
        return referral_public(referral, await _steps(session, referral.id), principal)


@router.post(
    "/referrals/{referral_id}/{action:referral_action}",
    response_model=ReferralPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=PARTY_CHANGE,
)
async def transition(
    referral_id: UUID,
    action: CallerAction,
    database: DatabaseDep,
    context: ContextDep,
    principal: AnyParty,
    body: TransitionRequest | None = None,
) -> ReferralPublic:
    """Move the referral on: submit, sign-off (MOSVY), accept, decline, admit, exit (the
    addressed provider), close, cancel (the coordinator). Out of order: 409 naming the
    actions allowed now. Referrals expire by the clock only."""
    step = Action(action.value)
    request = body or TransitionRequest()
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
            raise ProblemError(
                409, "transition_not_allowed", refused.explained(yours), "action"
            ) from None
        except NotYourAction as denied:
            raise ProblemError(403, "forbidden", str(denied)) from None
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
        return referral_public(referral, await _steps(uow.session, referral.id), principal)


@router.get(
    "/escalations",
    response_model=list[ReferralPublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=COORDINATION_LIST,
)
async def escalations(database: DatabaseDep, principal: Coordinator) -> list[ReferralPublic]:
    """Referrals escalated to the coordination: no answer in time, or a placement the
    registry refused; newest first."""
    async with database.session() as session:
        query = select(Referral).where(col(Referral.escalated_at).is_not(None))
        found = (await session.exec(query.order_by(col(Referral.escalated_at).desc()))).all()
        return [referral_public(r, [], principal) for r in found]


@router.get(
    "/follow-ups/overdue",
    response_model=list[FollowUpPublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=COORDINATION_LIST,
)
async def overdue_follow_ups(
    database: DatabaseDep, context: ContextDep, principal: Coordinator
) -> list[FollowUpPublic]:
    """Follow-up visits past their due date and not recorded, oldest first."""
    today = context.clock().date()
    async with database.session() as session:
        query = select(FollowUpVisit).where(
            col(FollowUpVisit.visited_on).is_(None), col(FollowUpVisit.due_on) < today
        )
        visits = (await session.exec(query.order_by(col(FollowUpVisit.due_on)))).all()
    return [_visit(v, today) for v in visits]


@router.get(
    "/referrals/{referral_id}/follow-ups",
    response_model=list[FollowUpPublic],
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PARTY_READ,
)
async def follow_ups(
    referral_id: UUID, database: DatabaseDep, context: ContextDep, principal: AnyParty
) -> list[FollowUpPublic]:
    """The referral's follow-up visits after reintegration."""
    async with database.session() as session:
        referral = await visible_referral(session, principal, referral_id, context)
        query = select(FollowUpVisit).where(col(FollowUpVisit.referral_id) == referral.id)
        visits = (await session.exec(query.order_by(col(FollowUpVisit.due_on)))).all()
    return [_visit(v, context.clock().date()) for v in visits]


@router.put(
    "/referrals/{referral_id}/follow-ups/{visit_id}",
    response_model=FollowUpPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=PARTY_CHANGE,
)
async def record_follow_up(
    referral_id: UUID,
    visit_id: UUID,
    body: FollowUpRecord,
    database: DatabaseDep,
    context: ContextDep,
    principal: AnyParty,
) -> FollowUpPublic:
    """Record a visit (its notes are sealed); by the coordination or the provider."""
    today = context.clock().date()
    if body.visited_on > today:
        raise ProblemError(422, "invalid_input", "a visit is recorded once made", "visited_on")
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await visible_referral(uow.session, principal, referral_id, context)
        visit = await uow.session.get(FollowUpVisit, visit_id)
        if visit is None or visit.referral_id != referral.id:
            raise NotFound("follow-up visit")
        if visit.visited_on is not None:
            raise ProblemError(409, "already_recorded", "this visit is already recorded")
        visit.visited_on = body.visited_on
        visit.recorded_by = str(principal.actor)
        if body.notes:
            visit.notes_sealed = context.seal(
                body.notes, "follow_up_visit", visit.id, "notes_sealed"
            )
        uow.session.add(visit)
        await audit(uow.session, principal, AuditAction.WRITE, FOLLOW_UP, visit.id, "follow_up")
        await uow.commit()
    return _visit(visit, today)


def _visit(visit: FollowUpVisit, today: date) -> FollowUpPublic:
    return FollowUpPublic(
        id=visit.id,
        referral_id=visit.referral_id,
        due_on=visit.due_on,
        visited_on=visit.visited_on,
        overdue=visit.visited_on is None and visit.due_on < today,
    )
