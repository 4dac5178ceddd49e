"""Repatriation officer: the cases by SOP, each with its step timeline, the steps
allowed now with their acting agency and deadline (overdue shown), and the missed
deadlines first. Read-only here: steps are recorded through the repatriation API."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from console.context import context_of
from console.pages.guard import signed_in
from console.pages.rendering import render

router = APIRouter(include_in_schema=False)

OFFICERS = ("liaison_officer", "case_manager")
CASE_LIMIT = "200"


def by_sop(cases: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The cases under the title of the SOP they follow, in SOP order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        groups.setdefault(case["sop"]["title"], []).append(case)
    return sorted(groups.items())


@router.get("/repatriation")
async def cases(request: Request) -> Response:
    _, user = signed_in(request, *OFFICERS)
    backbone = context_of(request).backbone
    page = await backbone.get(user.access_token, "repatriation", "/cases", limit=CASE_LIMIT)
    missed = await backbone.get(user.access_token, "repatriation", "/deadlines", state="missed")
    return render(
        request,
        "repatriation.html",
        {"groups": by_sop(page["items"]), "missed": missed["items"]},
    )


@router.get("/repatriation/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    _, user = signed_in(request, *OFFICERS)
    backbone = context_of(request).backbone
    case = await backbone.get(user.access_token, "repatriation", f"/cases/{case_id}")
    timeline = await backbone.get(user.access_token, "repatriation", f"/cases/{case_id}/timeline")
    return render(request, "repatriation_case.html", {"case": case, "entries": timeline["entries"]})
