"""Routes of the referral lifecycle, escalations and follow-up visits."""

from __future__ import annotations

import re
from enum import StrEnum
from uuid import UUID

from fastapi import APIRouter
from starlette.convertors import Convertor, register_url_convertor

from nrm_runtime.errors import error_responses
from nrm_runtime.http import DatabaseDep
from referral.access import (
    COORDINATION_CASE,
    COORDINATION_LIST,
    PARTY_CHANGE,
    PARTY_READ,
    AnyParty,
    Coordinator,
)
from referral.context import ContextDep
from referral.domain.lifecycle import Action
from referral.schemas.referrals import (
    FollowUpPublic,
    FollowUpRecord,
    ReferralPublic,
    TransitionRequest,
)
from referral.usecases import referrals
from referral.views import referrals as views
from referral.views.referrals import visit_public

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
    return await views.case_referrals(database, principal, case_id)


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
    return await views.referral(database, context, principal, referral_id)


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
    return await referrals.move(
        database, context, principal, referral_id, Action(action.value), body or TransitionRequest()
    )


@router.get(
    "/escalations",
    response_model=list[ReferralPublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=COORDINATION_LIST,
)
async def escalations(database: DatabaseDep, principal: Coordinator) -> list[ReferralPublic]:
    """Referrals escalated to the coordination: no answer in time, or a placement the
    registry refused; newest first."""
    return await views.escalations(database, principal)


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
    return await views.overdue_follow_ups(database, context)


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
    return await views.follow_ups(database, context, principal, referral_id)


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
    visit = await referrals.record_follow_up(
        database, context, principal, referral_id, visit_id, body
    )
    return visit_public(visit, context.clock().date())
