"""A provider's webhook: its registration, the rotation of its signing secret, and the
redelivery of a notice it lost."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from uuid import UUID

from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.destinations import DestinationRefused, DestinationUnresolved
from nrm_runtime.errors import Invalid, NotFound
from referral.context import ReferralContext
from referral.store import Delivery, ProviderEndpoint
from referral.usecases.delivery import ENDPOINT_TABLE, new_secret

# A registration does not wait long on DNS: every delivery attempt checks again anyway.
REGISTRATION_RESOLVE_SECONDS = 3.0


async def register(
    database: Database, context: ReferralContext, principal: Principal, url: str
) -> str:
    """Register (or replace) the organisation's webhook; its new signing secret."""
    await _check_destination(context, url)
    secret = new_secret()
    organisation = principal.organisation
    async with database.unit_of_work(actor=principal.actor) as uow:
        endpoint = await uow.session.get(ProviderEndpoint, organisation) or ProviderEndpoint(
            organisation_id=organisation  # type: ignore[call-arg]
        )
        endpoint.url = url
        endpoint.secret_sealed = context.seal(secret, ENDPOINT_TABLE, organisation, "secret_sealed")
        endpoint.previous_secret_sealed = None
        endpoint.previous_secret_until = None
        endpoint.registered_at = context.clock()
        uow.session.add(endpoint)
        await uow.commit()
    return secret


async def rotate_secret(
    database: Database, context: ReferralContext, principal: Principal
) -> tuple[str, datetime]:
    """A new signing secret, and until when the previous one keeps signing beside it."""
    organisation = principal.organisation
    secret = new_secret()
    async with database.unit_of_work(actor=principal.actor) as uow:
        endpoint = await uow.session.get(ProviderEndpoint, organisation)
        if endpoint is None:
            raise NotFound("webhook")
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
    return secret, until


async def redeliver(
    database: Database, context: ReferralContext, principal: Principal, delivery_id: UUID
) -> Delivery:
    """Make one of the organisation's notices due again, now; the give-up period counts
    again from now."""
    async with database.unit_of_work(actor=principal.actor) as uow:
        delivery = await uow.session.get(Delivery, delivery_id)
        if delivery is None or delivery.organisation_id != principal.organisation:
            raise NotFound("delivery")
        now = context.clock()
        delivery.dead_at = None
        delivery.delivered_at = None
        delivery.redelivered_at = now
        delivery.next_attempt_at = now
        uow.session.add(delivery)
        await uow.commit()
    return delivery


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
        raise Invalid(f"webhook destination refused: {refused.reason}", field="url") from None
