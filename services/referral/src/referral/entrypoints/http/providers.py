"""The provider's side: its feed of referrals, its webhook, its delivery log, and the
person's details once it accepted (with consent to data sharing)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from nrm_runtime.errors import ProblemError, error_responses
from nrm_runtime.http import DatabaseDep
from referral.access import (
    PROVIDER_FEED,
    PROVIDER_OWN,
    PROVIDER_REFERRAL,
    ProviderStaff,
)
from referral.context import ContextDep
from referral.schemas.providers import (
    DeliveryPublic,
    PersonDetails,
    ProviderFeed,
    ProviderReferral,
    WebhookRegistered,
    WebhookRegistration,
    WebhookSecretRotated,
)
from referral.usecases import disclosure, webhooks
from referral.views import deliveries as delivery_views

router = APIRouter(prefix="/providers/me", tags=["providers"])


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
    return await disclosure.feed(database, context, principal, since, limit)


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
    return await disclosure.addressed(database, context, principal, referral_id)


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
    return await disclosure.person_details(database, context, principal, referral_id)


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
    secret = await webhooks.register(database, context, principal, str(body.url))
    return WebhookRegistered(
        organisation_id=principal.organisation, url=str(body.url), secret=secret
    )


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
    secret, until = await webhooks.rotate_secret(database, context, principal)
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
    redelivered = await webhooks.redeliver(database, context, principal, delivery_id)
    return await delivery_views.delivery(database, redelivered.id)


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
    return await delivery_views.delivery_log(database, principal.organisation, limit)
