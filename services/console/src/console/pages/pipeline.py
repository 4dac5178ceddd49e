"""NRM coordinator: the referral pipeline by state with its deadlines, a case's needs
assessment, matching with the reasons, referring to a provider, and the sign-off (by
MOSVY's Competent Authority officers, who see the same pipeline)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.backbone import Backbone, ServiceError
from console.context import context_of
from console.pages.guard import checked_form, signed_in
from console.pages.live import digest_of, event_stream
from console.pages.problems import FORM, field_errors, message_of
from console.pages.rendering import first, render
from console.sessions import SignedInUser
from nrm_contracts.events.notices import Urgency
from nrm_contracts.events.referral import ReferralNeed

router = APIRouter(include_in_schema=False)

COORDINATION = ("case_manager", "competent_authority")
CASE_LIMIT = "100"
NEEDS = tuple(ReferralNeed)
URGENCIES = tuple(Urgency)
COLUMNS = ("to_refer", "draft", "awaiting_signoff", "sent", "accepted", "admitted", "exited")
COORDINATOR_ACTIONS = ("submit", "sign-off", "close", "cancel")
ASSESSMENT_FIELDS = {"needs", "urgency", "languages"}
REFERRAL_FIELDS = {"facility_id", "officer_contact", "needs"}


def columns_of(cases: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each case under the state of its latest referral (``to_refer`` without one)."""
    columns: dict[str, list[dict[str, Any]]] = {column: [] for column in COLUMNS}
    for case in cases:
        latest = case["referrals"][-1] if case["referrals"] else None
        state = latest["state"] if latest is not None else "to_refer"
        columns.setdefault(state, []).append({"case": case, "referral": latest})
    return columns


async def board_of(
    backbone: Backbone, token: str
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The pipeline's columns and the service gaps, as the user may see them now."""
    page = await backbone.get(token, "referral", "/referral-cases", limit=CASE_LIMIT)
    cases = page["items"]
    for case in cases:
        case["referrals"] = await backbone.get(
            token, "referral", f"/referral-cases/{case['id']}/referrals"
        )
    gaps: list[dict[str, Any]] = await backbone.get(token, "referral", "/gaps")
    return columns_of(cases), gaps


def digest_of_board(columns: dict[str, list[dict[str, Any]]], gaps: list[dict[str, Any]]) -> str:
    """What the page shows, reduced to a digest: each case's column, its answer deadline
    and escalation, and the gaps. Names and needs are not in it (the page shows none)."""
    shown = {
        column: [
            [
                entry["case"]["id"],
                entry["referral"]["id"] if entry["referral"] else None,
                entry["referral"].get("answer_due_at") if entry["referral"] else None,
                entry["referral"].get("escalated_at") if entry["referral"] else None,
            ]
            for entry in entries
        ]
        for column, entries in columns.items()
    }
    return digest_of({"columns": shown, "gaps": gaps})


@router.get("/pipeline")
async def pipeline(request: Request) -> Response:
    _, user = signed_in(request, *COORDINATION)
    columns, gaps = await board_of(context_of(request).backbone, user.access_token)
    return render(
        request,
        "pipeline.html",
        {"columns": columns, "gaps": gaps, "since": digest_of_board(columns, gaps)},
    )


@router.get("/pipeline/changes")
async def pipeline_changes(request: Request, since: str) -> Response:
    """Server-sent events: ``changed`` when the pipeline the user would be shown differs
    from the one drawn (its digest ``since``). The referral service has no "changed
    since" list for coordination, so the stream draws the board as the page would and
    compares digests (see console.pages.live)."""
    signed_in(request, *COORDINATION)
    backbone = context_of(request).backbone

    async def changes(token: str, cursor: str) -> str | None:
        digest = digest_of_board(*await board_of(backbone, token))
        return digest if digest != cursor else None

    return event_stream(request, since, changes)


async def _case_page(
    request: Request,
    user: SignedInUser,
    case_id: str,
    *,
    matches: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    backbone = context_of(request).backbone
    token = user.access_token
    case = await backbone.get(token, "referral", f"/referral-cases/{case_id}")
    referrals = await backbone.get(token, "referral", f"/referral-cases/{case_id}/referrals")
    try:
        assessment = await backbone.get(token, "referral", f"/referral-cases/{case_id}/assessment")
    except ServiceError as missing:
        if missing.status != 404:
            raise
        assessment = None
    return render(
        request,
        "pipeline_case.html",
        {
            "case": case,
            "referrals": referrals,
            "assessed": {
                "needs": set(assessment["needs"]) if assessment else set(),
                "urgency": assessment["urgency"] if assessment else "",
            },
            "matches": matches,
            "errors": errors or {},
            "needs": NEEDS,
            "urgencies": URGENCIES,
        },
        status_code=status_code,
    )


@router.get("/pipeline/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    _, user = signed_in(request, *COORDINATION)
    return await _case_page(request, user, case_id)


@router.post("/pipeline/{case_id}/assessment")
async def assess(request: Request, case_id: str) -> Response:
    user, form = await checked_form(request, "case_manager")
    body: dict[str, Any] = {"needs": form.get("needs", []), "urgency": first(form, "urgency")}
    languages = [code.strip() for code in first(form, "languages").split(",") if code.strip()]
    if languages:
        body["languages"] = languages
    backbone = context_of(request).backbone
    try:
        await backbone.put(
            user.access_token, "referral", f"/referral-cases/{case_id}/assessment", body
        )
        matches = await backbone.post(
            user.access_token, "referral", f"/referral-cases/{case_id}/matching"
        )
    except ServiceError as refused:
        errors = field_errors(request, refused, known=ASSESSMENT_FIELDS)
        return await _case_page(request, user, case_id, errors=errors, status_code=422)
    return await _case_page(request, user, case_id, matches=matches)


@router.post("/pipeline/{case_id}/referrals")
async def refer(request: Request, case_id: str) -> Response:
    """Refer to the chosen provider and submit at once (to the sign-off when required)."""
    user, form = await checked_form(request, "case_manager")
    body = {
        "facility_id": first(form, "facility_id"),
        "needs": form.get("needs", []),
        "officer_contact": first(form, "officer_contact"),
    }
    backbone = context_of(request).backbone
    try:
        created = await backbone.post(
            user.access_token, "referral", f"/referral-cases/{case_id}/referrals", body
        )
        await backbone.post(user.access_token, "referral", f"/referrals/{created['id']}/submit")
    except ServiceError as refused:
        errors = field_errors(request, refused, known=REFERRAL_FIELDS)
        return await _case_page(request, user, case_id, errors=errors, status_code=422)
    return RedirectResponse(f"/pipeline/{case_id}", status_code=303)


@router.post("/pipeline/{case_id}/referrals/{referral_id}/{action}")
async def move_on(request: Request, case_id: str, referral_id: str, action: str) -> Response:
    user, form = await checked_form(request, *COORDINATION)
    if action not in COORDINATOR_ACTIONS:
        return RedirectResponse(f"/pipeline/{case_id}", status_code=303)
    body = {"reason": first(form, "reason")} if action == "cancel" else None
    try:
        await context_of(request).backbone.post(
            user.access_token, "referral", f"/referrals/{referral_id}/{action}", body
        )
    except ServiceError as refused:
        errors = {FORM: message_of(request, refused)}
        return await _case_page(request, user, case_id, errors=errors, status_code=422)
    return RedirectResponse(f"/pipeline/{case_id}", status_code=303)
