"""Shelter NGO staff: the referrals addressed to their organisation, and acting on them
(accept, decline with a reason, admit, exit with how).

The list is the referral service's provider feed for the user's own token: the service
shows an NGO only the referrals addressed to it (and 404 for any other), so the console
cannot show one NGO another's referral even by mistake.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.backbone import ServiceError
from console.context import context_of
from console.pages.guard import checked_form, signed_in
from console.pages.live import event_stream
from console.pages.problems import FORM, message_of
from console.pages.rendering import first, render
from nrm_contracts.events.referral import DeclineReason, PlacementExitReason

router = APIRouter(include_in_schema=False)

PROVIDER_STAFF = "provider_staff"
FEED_LIMIT = "200"
ACTION_TITLES = {
    "accept": "Accept",
    "decline": "Decline",
    "admit": "Admit",
    "exit": "Record the exit",
}
PROVIDER_ACTIONS = tuple(ACTION_TITLES)
DECLINE_REASONS = tuple(DeclineReason)
EXIT_REASONS = tuple(PlacementExitReason)
FOLLOWED_UP = {"exited", "closed"}
# Waiting for this organisation's answer first, then those in its care, then the rest.
STATE_ORDER = {"sent": 0, "accepted": 1, "admitted": 2, "exited": 3}


async def _inbox_page(request: Request, errors: dict[str, str], status_code: int = 200) -> Response:
    _, user = signed_in(request, PROVIDER_STAFF)
    backbone = context_of(request).backbone
    feed = await backbone.get(
        user.access_token, "referral", "/providers/me/referrals", limit=FEED_LIMIT
    )
    facilities = await backbone.get(
        user.access_token, "shelter-registry", "/directory", organisation_id=user.organisation
    )
    referrals: list[dict[str, Any]] = sorted(
        feed["items"], key=lambda r: (STATE_ORDER.get(r["state"], 9), r["answer_due_at"] or "")
    )
    for referral in referrals:
        # Follow-up visits come after an exit (reintegration).
        referral["follow_ups"] = (
            await backbone.get(
                user.access_token, "referral", f"/referrals/{referral['id']}/follow-ups"
            )
            if referral["state"] in FOLLOWED_UP
            else []
        )
    # The stream reports changes after the newest one shown (or after now, if none).
    since = max((r["updated_at"] for r in referrals), default=None) or datetime.now(UTC).isoformat()
    return render(
        request,
        "inbox.html",
        {
            "referrals": referrals,
            "errors": errors,
            "decline_reasons": DECLINE_REASONS,
            "exit_reasons": EXIT_REASONS,
            "action_titles": ACTION_TITLES,
            "since": since,
            "facilities": facilities["items"],
        },
        status_code=status_code,
    )


@router.get("/inbox")
async def inbox(request: Request) -> Response:
    return await _inbox_page(request, {})


@router.get("/inbox/changes")
async def inbox_changes(request: Request, since: str) -> Response:
    """Server-sent events: ``changed`` when a referral addressed to the user's
    organisation changed after ``since`` (see console.pages.live)."""
    signed_in(request, PROVIDER_STAFF)
    backbone = context_of(request).backbone

    async def changes(token: str, cursor: str) -> str | None:
        feed = await backbone.get(
            token, "referral", "/providers/me/referrals", since=cursor, limit=FEED_LIMIT
        )
        return str(feed["next_since"]) if feed["items"] else None

    return event_stream(request, since, changes)


async def _then_inbox(request: Request, change: Awaitable[Any], shown_at: str) -> Response:
    """Back to the inbox once ``change`` is made; if a service refuses it, the inbox
    again with the message at ``shown_at`` (a card or row id), or above the list for what
    is not (or no longer) there."""
    try:
        await change
    except ServiceError as refused:
        where = FORM if refused.status == 404 else shown_at
        return await _inbox_page(request, {where: message_of(request, refused)}, 422)
    return RedirectResponse("/inbox", status_code=303)


@router.post("/inbox/{referral_id}/{action}")
async def act(request: Request, referral_id: str, action: str) -> Response:
    user, form = await checked_form(request, PROVIDER_STAFF)
    if action not in PROVIDER_ACTIONS:
        return RedirectResponse("/inbox", status_code=303)
    body: dict[str, str] = {}
    if action == "decline":
        body["reason"] = first(form, "reason")
    if action == "exit":
        body["exit_reason"] = first(form, "exit_reason")
    path = f"/referrals/{referral_id}/{action}"
    backbone = context_of(request).backbone
    return await _then_inbox(
        request, backbone.post(user.access_token, "referral", path, body or None), referral_id
    )


@router.post("/inbox/{referral_id}/follow-ups/{visit_id}")
async def record_visit(request: Request, referral_id: str, visit_id: str) -> Response:
    """A follow-up visit made: its date and notes (sealed by the referral service)."""
    user, form = await checked_form(request, PROVIDER_STAFF)
    body = {"visited_on": first(form, "visited_on"), "notes": first(form, "notes") or None}
    path = f"/referrals/{referral_id}/follow-ups/{visit_id}"
    backbone = context_of(request).backbone
    return await _then_inbox(
        request, backbone.put(user.access_token, "referral", path, body), visit_id
    )


@router.post("/facilities/{facility_id}/beds")
async def set_beds(request: Request, facility_id: str) -> Response:
    """The organisation's count of beds in one of its facilities (never below the beds
    occupied and reserved: the registry refuses, and the message shows on the row)."""
    user, form = await checked_form(request, PROVIDER_STAFF)
    total = first(form, "beds_total")
    body = {"beds_total": int(total) if total.isdigit() else total}
    path = f"/facilities/{facility_id}/capacity"
    backbone = context_of(request).backbone
    return await _then_inbox(
        request, backbone.put(user.access_token, "shelter-registry", path, body), facility_id
    )
