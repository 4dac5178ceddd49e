"""Notices to one provider: what changed in a referral addressed to it.

Not a backbone event: a notice is a delivery to one reader, the organisation the
referral is addressed to. It travels in the same CloudEvents envelope as every event
(structured JSON), by two channels with one body: the provider's webhook (signed per
Standard Webhooks) and the provider's own topic ``nrm.referral.provider.<organisation
id>``. It carries ids and the non-identifying summary only; the provider fetches the
rest by REST with its token, once it accepted and the person consented.

The consumers of the backbone's topics never accept a notice (it is not in
:func:`nrm_contracts.registry.event_types`): only providers read them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from nrm_contracts.events.identification import AgeBand, Sex
from nrm_contracts.events.referral import ReferralNeed
from nrm_contracts.registry import EventPayload
from nrm_contracts.topics import Topic

PROVIDER_CHANNEL = "nrm.referral.provider.{organisation}"


class NoticeEvent(StrEnum):
    """What changed, for the provider."""

    SENT = "referral.sent"  # addressed to the provider: accept or decline it
    ACCEPTED = "referral.accepted"  # the provider's acceptance, recorded
    DECLINED = "referral.declined"  # the provider's decline, recorded
    ADMITTED = "referral.admitted"  # the person's admission, recorded
    EXITED = "referral.exited"  # the person's exit, recorded
    CLOSED = "referral.closed"  # the referral is closed
    CANCELLED = "referral.cancelled"  # MOSVY withdrew the referral
    EXPIRED = "referral.expired"  # no answer in time: the referral is no longer open
    REROUTED = "referral.rerouted"  # the case was referred to another provider instead
    FOLLOW_UP_DUE = "referral.follow_up_due"  # a follow-up visit is due


class ReferralState(StrEnum):
    """The referral's state after the change (the referral lifecycle's states a
    provider sees)."""

    SENT = "sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    ADMITTED = "admitted"
    EXITED = "exited"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class ReferralKind(StrEnum):
    AFTERCARE = "aftercare"
    RECEPTION = "reception"  # a returning person handed over at the border


class Urgency(StrEnum):
    IMMEDIATE = "immediate"  # within the day
    HIGH = "high"  # within days
    ROUTINE = "routine"


class ReferralNotice(EventPayload):
    """A referral addressed to the provider changed: what changed and the referral's
    non-identifying summary. No name, no contact, no free text."""

    event_type: ClassVar[str] = "kh.nrm.referral.provider_notice.v1"
    topic: ClassVar[Topic] = Topic.REFERRAL
    channel: ClassVar[str | None] = PROVIDER_CHANNEL
    subject_field: ClassVar[str] = "referral_id"

    event: NoticeEvent
    referral_id: UUID
    referral_case_id: UUID
    organisation_id: str = Field(min_length=1, max_length=64)
    facility_id: UUID
    state: ReferralState
    kind: ReferralKind
    needs: list[ReferralNeed]
    urgency: Urgency | None = None
    sex: Sex | None = None
    age_band: AgeBand | None = None
    languages: list[str] = Field(
        default_factory=list, description="ISO 639-1 codes of the languages the person speaks."
    )
    answer_due_at: datetime | None = Field(
        default=None, description="When the provider's answer to a sent referral is due."
    )
    follow_up_due_on: date | None = Field(
        default=None, description="For referral.follow_up_due: the day the visit is due."
    )
    occurred_at: datetime


NOTICES: tuple[type[EventPayload], ...] = (ReferralNotice,)
