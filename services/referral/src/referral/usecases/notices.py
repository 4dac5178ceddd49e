"""The notices a provider is sent when a referral addressed to it changes: composed and
queued in the delivery table in the same unit of work as the change they announce, one
row per channel (:mod:`referral.usecases.delivery` sends them)."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

from sqlmodel import col, func, select

from nrm_contracts.events.notices import NoticeEvent, ReferralNotice
from nrm_runtime.database import UnitOfWork
from referral.context import ReferralContext
from referral.store import Delivery, NeedsAssessment, ProviderEndpoint, Referral, ReferralCase
from referral.usecases.privacy import note_notice


class Channel:
    WEBHOOK = "webhook"
    KAFKA = "kafka"


def notice(
    event: NoticeEvent,
    referral: Referral,
    case: ReferralCase,
    assessment: NeedsAssessment | None,
    *,
    follow_up_due_on: date | None = None,
) -> ReferralNotice:
    """What a provider is told when a referral to it changes: no name, no contact."""
    return ReferralNotice.model_validate(
        {
            "event": event,
            "referral_id": referral.id,
            "referral_case_id": referral.referral_case_id,
            "organisation_id": referral.organisation_id,
            "facility_id": referral.facility_id,
            "state": referral.state,
            "kind": referral.kind,
            "needs": [n for n in referral.needs.split(",") if n],
            "urgency": assessment.urgency if assessment else None,
            "sex": case.sex,
            "age_band": case.age_band,
            "languages": [x for x in assessment.languages.split(",") if x] if assessment else [],
            "answer_due_at": referral.answer_due_at,
            "follow_up_due_on": follow_up_due_on,
            "occurred_at": referral.updated_at,
        }
    )


async def enqueue_notices(
    uow: UnitOfWork,
    context: ReferralContext,
    referral: Referral,
    case: ReferralCase,
    event: NoticeEvent,
    *,
    follow_up_due_on: date | None = None,
    audited: bool = True,
) -> None:
    """Queue the notice of ``event`` for the referral's provider: on its topic, and to
    its webhook when it registered one; one CloudEvent, the same body on both.
    ``audited``: a disclosure the transaction's audit entries must show."""
    assessment = await uow.session.get(NeedsAssessment, case.id)
    channels = [Channel.KAFKA]
    if await uow.session.get(ProviderEndpoint, referral.organisation_id) is not None:
        channels.append(Channel.WEBHOOK)
    # Strictly after the referral's previous notice (an expiry and its re-route share a
    # transaction and a clock reading): the workers send them in created_at order.
    previous = (
        await uow.session.exec(
            select(func.max(Delivery.created_at)).where(col(Delivery.referral_id) == referral.id)
        )
    ).one()
    now = context.clock()
    created_at = now if previous is None or now > previous else previous + timedelta(microseconds=1)
    if audited:
        note_notice(uow.session, referral.id)
    payload = notice(event, referral, case, assessment, follow_up_due_on=follow_up_due_on)
    body = uow.envelope(payload).to_kafka().value.decode()
    for channel in channels:
        uow.session.add(
            Delivery(
                id=uuid4(),
                organisation_id=referral.organisation_id,
                referral_id=referral.id,
                channel=channel,
                body=body,
                next_attempt_at=now,
                created_at=created_at,
            )
        )
