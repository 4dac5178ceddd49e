"""The provider's side: its feed of referrals, its webhook, its delivery log, and the
person's details once it accepted (with consent to data sharing)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
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
from referral.delivery import ENDPOINT_TABLE, new_secret
from referral.lifecycle import VISIBLE_TO_PROVIDER, ReferralState
from referral.models import (
    DeliveryAttemptPublic,
    DeliveryPublic,
    PersonDetails,
    ProviderReferral,
    SpecialNeed,
    WebhookRegistered,
    WebhookRegistration,
    WebhookSecretRotated,
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
    """Register (or replace) where the organisation's referral notices are pushed;
    answers a new Standard Webhooks signing secret (``whsec_...``), shown this once. The
    URL must be https in production and point at a public address (422 naming ``url``
    otherwise); every delivery checks it again. See the ``webhooks`` section of this
    document for the notices, and ``POST /providers/me/webhook/secret`` to rotate the
    secret without losing a notice."""
    await _check_destination(context, str(body.url))
    secret = new_secret()
    organisation = principal.organisation
    async with database.unit_of_work(actor=principal.actor) as uow:
        endpoint = await uow.session.get(ProviderEndpoint, organisation) or ProviderEndpoint(
            organisation_id=organisation  # type: ignore[call-arg]
        )
        endpoint.url = str(body.url)
        endpoint.secret_sealed = context.seal(secret, ENDPOINT_TABLE, organisation, "secret_sealed")
        endpoint.previous_secret_sealed = None
        endpoint.previous_secret_until = None
        endpoint.registered_at = context.clock()
        uow.session.add(endpoint)
        await uow.commit()
    return WebhookRegistered(organisation_id=organisation, url=str(body.url), secret=secret)


@router.post(
    "/webhook/secret",
    response_model=WebhookSecretRotated,
    responses=error_responses(401, 403, 404),
    openapi_extra=PROVIDER_OWN,
)
async def rotate_webhook_secret(
    database: DatabaseDep, context: ContextDep, principal: ProviderStaff
) -> WebhookSecretRotated:
    """A new signing secret, shown this once; the previous one keeps signing beside it
    for the service's overlap period (``webhook-signature`` then holds two signatures).
    404 when the organisation registered no webhook."""
    organisation = principal.organisation
    secret = new_secret()
    async with database.unit_of_work(actor=principal.actor) as uow:
        endpoint = await uow.session.get(ProviderEndpoint, organisation)
        if endpoint is None:
            raise ProblemError(404, "not_found", "no webhook registered")
        previous = context.open(
            endpoint.secret_sealed, ENDPOINT_TABLE, organisation, "secret_sealed"
        )
        assert previous is not None
        until = context.clock() + timedelta(hours=context.settings.webhook_secret_overlap_hours)
        endpoint.previous_secret_sealed = context.seal(
            previous, ENDPOINT_TABLE, organisation, "previous_secret_sealed"
        )
        endpoint.previous_secret_until = until
        endpoint.secret_sealed = context.seal(secret, ENDPOINT_TABLE, organisation, "secret_sealed")
        uow.session.add(endpoint)
        await uow.commit()
    return WebhookSecretRotated(secret=secret, previous_secret_valid_until=until)


@router.post(
    "/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryPublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PROVIDER_OWN,
)
async def redeliver(
    delivery_id: UUID, database: DatabaseDep, context: ContextDep, principal: ProviderStaff
) -> DeliveryPublic:
    """Send one of the organisation's notices again, now: a dead one (given up), or one
    delivered that the receiver lost. The give-up period counts again from now; the
    notice keeps its ``webhook-id``, so a receiver that has it skips it."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        delivery = await uow.session.get(Delivery, delivery_id)
        if delivery is None or delivery.organisation_id != principal.organisation:
            raise ProblemError(404, "not_found", "no such delivery")
        now = context.clock()
        delivery.dead_at = None
        delivery.delivered_at = None
        delivery.redelivered_at = now
        delivery.next_attempt_at = now
        uow.session.add(delivery)
        await uow.commit()
    async with database.session() as session:
        return await _delivery_public(session, delivery)


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
        return [await _delivery_public(session, delivery) for delivery in found]


async def _delivery_public(session: AsyncSession, delivery: Delivery) -> DeliveryPublic:
    attempts_query = select(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id) == delivery.id)
    attempts = (await session.exec(attempts_query.order_by(col(DeliveryAttempt.attempt)))).all()
    return DeliveryPublic(
        id=delivery.id,
        referral_id=delivery.referral_id,
        channel=delivery.channel,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        delivered_at=delivery.delivered_at,
        dead_at=delivery.dead_at,
        last_error=delivery.last_error,
        log=[DeliveryAttemptPublic.model_validate(a, from_attributes=True) for a in attempts],
    )


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
