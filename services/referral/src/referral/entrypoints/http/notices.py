"""The notices a provider's webhook receives, declared in the OpenAPI document's
``webhooks`` section (OpenAPI 3.1) so that an integrator generates or checks its
receiver from the document: one entry per kind of change, each with the body's schema
(the CloudEvents envelope around :class:`ReferralNotice`) and the Standard Webhooks
headers. Nothing here serves a request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import FastAPI, Header
from pydantic import BaseModel, Field

from nrm_contracts.envelope import TRACEPARENT_PATTERN
from nrm_contracts.events.notices import NoticeEvent, ReferralNotice

NOTICE_TYPE = ReferralNotice.event_type

WHAT_CHANGED = {
    NoticeEvent.SENT: "A referral was sent to the provider: accept or decline it before "
    "answer_due_at.",
    NoticeEvent.ACCEPTED: "The provider's acceptance was recorded.",
    NoticeEvent.DECLINED: "The provider's decline was recorded.",
    NoticeEvent.ADMITTED: "The person's admission was recorded.",
    NoticeEvent.EXITED: "The person's exit was recorded; follow-up visits are scheduled "
    "after a reintegration.",
    NoticeEvent.CLOSED: "The referral was closed.",
    NoticeEvent.CANCELLED: "MOSVY cancelled the referral: do not act on it.",
    NoticeEvent.EXPIRED: "The provider did not answer in time: the referral is no longer "
    "open to it.",
    NoticeEvent.REROUTED: "After the expiry, the person was referred to another provider.",
    NoticeEvent.FOLLOW_UP_DUE: "A follow-up visit is due (follow_up_due_on).",
}

RECEIVER = (
    "POSTed to the URL registered with PUT /providers/me/webhook, signed per the "
    "Standard Webhooks specification: verify webhook-signature over "
    '"<webhook-id>.<webhook-timestamp>.<body>" with the whsec_ secret (any signature of '
    "the space-separated list may match: two during a secret rotation), refuse a "
    "webhook-timestamp more than 5 minutes from your clock, and skip a webhook-id you "
    "have processed (a retry or a redelivery repeats it). Answer 2xx within 5 seconds; "
    "anything else (a 3xx included: redirects are not followed) is retried with "
    "exponential backoff from 2 s to 10 min, for 72 hours, then the notice is given up "
    "(dead) until POST /providers/me/deliveries/{id}/redeliver. The same notice, the "
    "same bytes, is on the Kafka topic nrm.referral.provider.<organisation id>."
)


class ReferralNoticeCloudEvent(BaseModel):
    """A notice as the webhook receives it: a CloudEvents 1.0 envelope in structured
    JSON mode (``application/cloudevents+json``)."""

    specversion: Literal["1.0"]
    id: str = Field(min_length=1, description="Also the webhook-id header.")
    source: str = Field(min_length=1, description="The referral service: /nrm/referral.")
    type: Literal["kh.nrm.referral.provider_notice.v1"]
    time: datetime
    subject: str = Field(min_length=1, description="The referral id (data.referral_id).")
    datacontenttype: Literal["application/json"]
    traceparent: str = Field(pattern=TRACEPARENT_PATTERN.pattern)
    actor: str | None = Field(default=None, description="Who caused it: organisation/role.")
    data: ReferralNotice


def declare_notices(app: FastAPI) -> None:
    """Add one ``webhooks`` entry per kind of notice to ``app``'s OpenAPI document."""
    assert NOTICE_TYPE == "kh.nrm.referral.provider_notice.v1"  # the Literal above
    for event, what in WHAT_CHANGED.items():
        app.webhooks.add_api_route(
            event.value,
            _receiver(event),
            methods=["POST"],
            summary=what,
            description=f"data.event = {event.value}. {RECEIVER}",
            status_code=204,
            tags=["notices"],
        )


def _receiver(event: NoticeEvent) -> Callable[..., None]:
    def receive(
        body: ReferralNoticeCloudEvent,
        webhook_id: Annotated[str, Header(alias="webhook-id", description="The CloudEvents id.")],
        webhook_timestamp: Annotated[
            str, Header(alias="webhook-timestamp", description="Unix seconds of the attempt.")
        ],
        webhook_signature: Annotated[
            str,
            Header(
                alias="webhook-signature",
                description="Space-separated v1,<base64 HMAC-SHA256> signatures.",
            ),
        ],
    ) -> None:
        """Never called: FastAPI documents the webhook from this signature."""

    receive.__name__ = f"notice_{event.name.lower()}"
    return receive
