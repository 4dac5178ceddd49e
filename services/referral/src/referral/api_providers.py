"""The provider's side: its feed of referrals, its webhook, its delivery log, and the
person's details once it accepted (with consent to data sharing)."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.audit import AuditAction, record_access
from nrm_runtime.auth import Principal
from nrm_runtime.destinations import DestinationRefused, DestinationUnresolved
from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep
from referral.access import (
    PROVIDER_FEED,
    PROVIDER_OWN,
    PROVIDER_REFERRAL,
    ProviderStaff,
    addressed_referral,
)
from referral.assessment import TABLE as ASSESSMENT_TABLE
from referral.assessment import split
from referral.context import ContextDep, ReferralContext
from referral.delivery import ENDPOINT_TABLE
from referral.lifecycle import VISIBLE_TO_PROVIDER, ReferralState
from referral.models import (
    DeliveryAttemptPublic,
    DeliveryPublic,
    PersonDetails,
    ProviderReferral,
    SpecialNeed,
    WebhookRegistered,
    WebhookRegistration,
)
from referral.store import (
    Delivery,
    DeliveryAttempt,
    NeedsAssessment,
    ProviderEndpoint,
    Referral,
    ReferralCase,
)
from referral.views import provider_referral

router = APIRouter(prefix="/providers/me", tags=["providers"])

# A registration does not wait long on DNS: every delivery attempt checks again anyway.
REGISTRATION_RESOLVE_SECONDS = 3.0

DISCLOSED_STATES = frozenset({ReferralState.ACCEPTED, ReferralState.ADMITTED, ReferralState.EXITED})


class ProviderFeed(BaseModel):
    items: list[ProviderReferral]
    next_since: datetime | None


@router.get(
    "/referrals",
    response_model=ProviderFeed,
    responses=error_responses(401, 403, 422),
    openapi_extra=PROVIDER_FEED,
)
async def feed(
    database: DatabaseDep,
    context: ContextDep,
    principal: ProviderStaff,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ProviderFeed:
    """The referrals addressed to the caller's organisation that changed after ``since``
    (oldest change first); ask again with ``next_since``."""
    if since is not None and since.tzinfo is None:
        raise ProblemError(422, "invalid_input", "since needs a time zone, e.g. Z", "since")
    query = select(Referral).where(
        col(Referral.organisation_id) == principal.organisation,
        col(Referral.state).in_([str(s) for s in VISIBLE_TO_PROVIDER]),
    )
    if since is not None:
        query = query.where(col(Referral.updated_at) > since)
    async with database.unit_of_work(actor=principal.actor) as uow:
        referrals = (
            await uow.session.exec(
                query.order_by(col(Referral.updated_at), col(Referral.id)).limit(limit)
            )
        ).all()
        items = []
        for referral in referrals:
            case = await uow.session.get(ReferralCase, referral.referral_case_id)
            assert case is not None
            assessment = await uow.session.get(NeedsAssessment, case.id)
            items.append(provider_referral(context, referral, case, assessment))
        if items:
            await record_access(
                uow.session,
                principal,
                action=AuditAction.READ,
                resource_type="referral",
                resource_ids=[str(r.id) for r in referrals],
                purpose="provider_feed",
            )
        await uow.commit()
    return ProviderFeed(items=items, next_since=items[-1].updated_at if items else since)


@router.get(
    "/referrals/{referral_id}",
    response_model=ProviderReferral,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PROVIDER_REFERRAL,
)
async def provider_view(
    referral_id: UUID, database: DatabaseDep, context: ContextDep, principal: ProviderStaff
) -> ProviderReferral:
    """One referral addressed to the caller's organisation (404 for any other)."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await _own(uow.session, principal, referral_id)
        case = await uow.session.get(ReferralCase, referral.referral_case_id)
        assert case is not None
        assessment = await uow.session.get(NeedsAssessment, case.id)
        await record_access(
            uow.session,
            principal,
            action=AuditAction.READ,
            resource_type="referral",
            resource_ids=str(referral.id),
            purpose="provider_referral",
        )
        await uow.commit()
    return provider_referral(context, referral, case, assessment)


@router.get(
    "/referrals/{referral_id}/person",
    response_model=PersonDetails,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=PROVIDER_REFERRAL,
)
async def person_details(
    referral_id: UUID, database: DatabaseDep, context: ContextDep, principal: ProviderStaff
) -> PersonDetails:
    """The person's wishes and notes, to the provider that accepted, with the person's
    consent to data sharing; every disclosure is audited."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        referral = await _own(uow.session, principal, referral_id)
        if ReferralState(referral.state) not in DISCLOSED_STATES:
            raise ProblemError(
                409, "not_accepted", "the person's details are disclosed after acceptance"
            )
        case = await uow.session.get(ReferralCase, referral.referral_case_id)
        assert case is not None
        if not case.data_sharing_consent or case.consent_withdrawn_at is not None:
            raise ProblemError(403, "no_consent", "the person did not consent to data sharing")
        assessment = await uow.session.get(NeedsAssessment, case.id)
        await record_access(
            uow.session,
            principal,
            action=AuditAction.DISCLOSE,
            resource_type="needs_assessment",
            resource_ids=str(case.id),
            purpose="aftercare",
        )
        await uow.commit()
    key = case.id
    return PersonDetails(
        referral_id=referral.id,
        identification_case_id=case.identification_case_id,
        wishes=context.open(assessment.wishes_sealed, ASSESSMENT_TABLE, key, "wishes_sealed")
        if assessment
        else None,
        notes=context.open(assessment.notes_sealed, ASSESSMENT_TABLE, key, "notes_sealed")
        if assessment
        else None,
        languages=split(assessment.languages) if assessment else [],
        special_needs=[SpecialNeed(s) for s in split(assessment.special_needs)]
        if assessment
        else [],
    )


@router.put(
    "/webhook",
    response_model=WebhookRegistered,
    responses=error_responses(401, 403, 422),
    openapi_extra=PROVIDER_OWN,
)
async def register_webhook(
    body: WebhookRegistration, database: DatabaseDep, context: ContextDep, principal: ProviderStaff
) -> WebhookRegistered:
    """Register (or replace) where the organisation's referrals are pushed; answers a new
    signing secret, shown this once. The URL must be https in production and point at a
    public address (422 naming ``url`` otherwise); every delivery checks it again."""
    await _check_destination(context, str(body.url))
    secret = secrets.token_urlsafe(32)
    organisation = principal.organisation
    async with database.unit_of_work(actor=principal.actor) as uow:
        endpoint = await uow.session.get(ProviderEndpoint, organisation) or ProviderEndpoint(
            organisation_id=organisation  # type: ignore[call-arg]
        )
        endpoint.url = str(body.url)
        endpoint.secret_sealed = context.seal(secret, ENDPOINT_TABLE, organisation, "secret_sealed")
        endpoint.registered_at = context.clock()
        uow.session.add(endpoint)
        await uow.commit()
    return WebhookRegistered(organisation_id=organisation, url=str(body.url), secret=secret)


@router.get(
    "/deliveries",
    response_model=list[DeliveryPublic],
    responses=error_responses(401, 403, 422),
    openapi_extra=PROVIDER_OWN,
)
async def deliveries(
    database: DatabaseDep,
    principal: ProviderStaff,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DeliveryPublic]:
    """The organisation's delivery log, newest first: every attempt and its outcome."""
    async with database.session() as session:
        query = select(Delivery).where(col(Delivery.organisation_id) == principal.organisation)
        found = (
            await session.exec(query.order_by(col(Delivery.created_at).desc()).limit(limit))
        ).all()
        answer = []
        for delivery in found:
            attempts_query = select(DeliveryAttempt).where(
                col(DeliveryAttempt.delivery_id) == delivery.id
            )
            attempts = (
                await session.exec(attempts_query.order_by(col(DeliveryAttempt.attempt)))
            ).all()
            answer.append(
                DeliveryPublic(
                    id=delivery.id,
                    referral_id=delivery.referral_id,
                    channel=delivery.channel,
                    attempts=delivery.attempts,
                    next_attempt_at=delivery.next_attempt_at,
                    delivered_at=delivery.delivered_at,
                    last_error=delivery.last_error,
                    log=[
                        DeliveryAttemptPublic.model_validate(a, from_attributes=True)
                        for a in attempts
                    ],
                )
            )
    return answer


async def _check_destination(context: ReferralContext, url: str) -> None:
    """Refuse a destination that is, or resolves to, a forbidden address. A name that
    does not resolve (yet) is accepted: the delivery attempts check what it resolves to
    when they connect, and fail until it is a public address."""
    try:
        async with asyncio.timeout(REGISTRATION_RESOLVE_SECONDS):
            await context.webhook_destinations.resolve_checked(url, context.resolve)
    except (DestinationUnresolved, TimeoutError):
        return
    except DestinationRefused as refused:
        raise ProblemError(
            422, "invalid_input", f"webhook destination refused: {refused.reason}", "url"
        ) from None


async def _own(session: AsyncSession, principal: Principal, referral_id: UUID) -> Referral:
    return await addressed_referral(session, principal, referral_id)
