"""Competent Authority: the cases awaiting a decision with their clocks (overdue first),
and deciding one with its grounds (preliminary, then final)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.backbone import ServiceError
from console.context import context_of
from console.pages.guard import checked_form, signed_in
from console.pages.problems import field_errors, message_of
from console.pages.rendering import first, render
from console.sessions import SignedInUser

router = APIRouter(include_in_schema=False)

COMPETENT_AUTHORITY = "competent_authority"
OPEN_STATUSES = ("awaiting_preliminary_decision", "more_information_needed", "presumed_victim")
OUTCOMES = ("identified", "not_identified", "more_information_needed")
STAGES = ("preliminary", "final")
DECISION_FIELDS = {"stage", "outcome", "rationale"}
QUEUE_LIMIT = "200"


def queue_order(case: dict[str, Any]) -> tuple[bool, str, str]:
    """Overdue first, then by the next deadline, then oldest."""
    deadlines = case["deadlines"]
    return (not deadlines["overdue"], deadlines["next_deadline_on"] or "9999", case["opened_at"])


def days_left(case: dict[str, Any], today: date) -> int | None:
    due = case["deadlines"]["next_deadline_on"]
    return None if due is None else (date.fromisoformat(due) - today).days


@router.get("/decisions")
async def queue(request: Request) -> Response:
    _, user = signed_in(request, COMPETENT_AUTHORITY)
    backbone = context_of(request).backbone
    cases: list[dict[str, Any]] = []
    for status in OPEN_STATUSES:
        page = await backbone.get(
            user.access_token, "identification", "/cases", status=status, limit=QUEUE_LIMIT
        )
        cases.extend(page["items"])
    today = date.today()
    rows = [
        {"case": case, "days_left": days_left(case, today)}
        for case in sorted(cases, key=queue_order)
    ]
    return render(request, "decision_queue.html", {"rows": rows})


async def _case_page(
    request: Request,
    user: SignedInUser,
    case_id: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    backbone = context_of(request).backbone
    case = await backbone.get(user.access_token, "identification", f"/cases/{case_id}")
    screenings = [
        await backbone.get(user.access_token, "identification", f"/screenings/{s['id']}")
        for s in case["screenings"]
    ]
    return render(
        request,
        "decision_case.html",
        {
            "case": case,
            "screenings": screenings,
            "values": values,
            "errors": errors,
            "outcomes": OUTCOMES,
            "stages": STAGES,
            "next_stage": "final" if case["status"] == "presumed_victim" else "preliminary",
        },
        status_code=status_code,
    )


@router.get("/decisions/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    _, user = signed_in(request, COMPETENT_AUTHORITY)
    try:
        return await _case_page(request, user, case_id, {}, {})
    except ServiceError as refused:
        return render(
            request,
            "problem.html",
            {"message": message_of(request, refused)},
            status_code=refused.status,
        )


@router.post("/decisions/{case_id}")
async def decide(request: Request, case_id: str) -> Response:
    user, form = await checked_form(request, COMPETENT_AUTHORITY)
    values = {name: first(form, name) for name in DECISION_FIELDS}
    body = {key: value for key, value in values.items() if value}
    try:
        await context_of(request).backbone.post(
            user.access_token, "identification", f"/cases/{case_id}/decisions", body
        )
    except ServiceError as refused:
        errors = field_errors(request, refused, known=DECISION_FIELDS)
        return await _case_page(request, user, case_id, values, errors, status_code=422)
    return RedirectResponse(f"/decisions/{case_id}?decided=1", status_code=303)
