"""Repatriation officer: the cases by SOP, each with its step timeline, the steps
allowed now with their acting agency and deadline (overdue shown), and the missed
deadlines first; recording one of Cambodia's steps (its documents and the details the
SOP requires) and a change of the person's consent to return.

The forms post to the repatriation service's own routes (``POST /cases/{id}/steps``,
``POST /cases/{id}/consent``); their fields carry the API's names (``documents``,
``details.handover_date``, ``recorded_on``), so a 422 is shown next to the field it
names. The service decides who may do what: a consent change is a case manager's
(MOSVY), so the form is offered to case managers only.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.backbone import ServiceError
from console.context import context_of
from console.i18n import province_codes
from console.pages.guard import checked_form, signed_in
from console.pages.problems import FORM, field_errors
from console.pages.rendering import first, render
from console.sessions import SignedInUser
from nrm_contracts.events.identification import ConsentBasis

router = APIRouter(include_in_schema=False)

OFFICERS = ("liaison_officer", "case_manager")
CONSENT_CHANGERS = ("case_manager",)
CASE_LIMIT = "200"
HOME_COUNTRY = "KHM"
DETAILS = (
    "contact_name",
    "handover_date",
    "border_point",
    "reception_organisation",
    "reception_province_code",
    "reintegration_status",
)
STEP_FIELDS = {"documents", *(f"details.{name}" for name in DETAILS)}
CONSENT_FIELDS = {"status", "basis", "recorded_on"}
# The repatriation service's own codes (not in the contracts): kept here, as for the
# screening form's acts.
CONSENT_STATUSES = ("given", "withdrawn")
CONSENT_BASES = tuple(ConsentBasis)
REINTEGRATION_STATUSES = ("with_family", "in_aftercare", "living_independently", "not_located")
STEP_NAME = re.compile(r"^[a-z0-9_]{1,64}$")


def by_sop(cases: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The cases under the title of the SOP they follow, in SOP order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for case in cases:
        groups.setdefault(case["sop"]["title"], []).append(case)
    return sorted(groups.items())


def step_body(form: dict[str, list[str]]) -> dict[str, Any]:
    """The service's ``StepSubmission`` from the form; empty details are left out, so
    that the service (the SOP) says which it requires."""
    details = {name: first(form, f"details.{name}") for name in DETAILS}
    return {
        "step": first(form, "step"),
        "documents": form.get("documents", []),
        "details": {name: value for name, value in details.items() if value},
    }


def consent_body(form: dict[str, list[str]]) -> dict[str, Any]:
    return {name: first(form, name) or None for name in ("status", "basis", "recorded_on")}


def step_values(form: dict[str, list[str]]) -> dict[str, Any]:
    """What a refused step form shows again."""
    values: dict[str, Any] = {f"details.{name}": first(form, f"details.{name}") for name in DETAILS}
    values["documents"] = set(form.get("documents", []))
    return values


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


async def _case_page(
    request: Request,
    user: SignedInUser,
    case_id: str,
    *,
    refused_step: str = "",
    step_form: dict[str, Any] | None = None,
    consent_form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    """The case; after a refusal, the refused form filled in again with its errors
    (``refused_step``: which step's form, ``consent_form``: the consent form's)."""
    backbone = context_of(request).backbone
    token = user.access_token
    case = await backbone.get(token, "repatriation", f"/cases/{case_id}")
    timeline = await backbone.get(token, "repatriation", f"/cases/{case_id}/timeline")
    ours = [step for step in case["allowed_steps"] if step["acting_country"] == HOME_COUNTRY]
    border_points: list[dict[str, Any]] = []
    if any("border_point" in step["required_details"] for step in ours):
        border_points = [
            point
            for point in await backbone.get(token, "repatriation", "/reference/border-points")
            if point["counterpart_country"] == case["counterpart_country"]
        ]
    consent = case["consent_to_return"]
    return render(
        request,
        "repatriation_case.html",
        {
            "case": case,
            "entries": timeline["entries"],
            "ours": ours,
            "refused_step": refused_step,
            "step_values": step_form or {},
            "consent_values": consent_form
            or {"status": consent["status"], "basis": consent["basis"], "recorded_on": ""},
            "errors": errors or {},
            "may_change_consent": user.has(*CONSENT_CHANGERS),
            "today": date.today().isoformat(),
            "border_points": border_points,
            "border_point_names": {point["code"]: point["name"] for point in border_points},
            "provinces": province_codes(),
            "consent_statuses": CONSENT_STATUSES,
            "consent_bases": CONSENT_BASES,
            "reintegration_statuses": REINTEGRATION_STATUSES,
        },
        status_code=status_code,
    )


@router.get("/repatriation/{case_id}")
async def case_page(request: Request, case_id: str) -> Response:
    _, user = signed_in(request, *OFFICERS)
    return await _case_page(request, user, case_id)


@router.post("/repatriation/{case_id}/steps")
async def record_step(request: Request, case_id: str) -> Response:
    """One of Cambodia's steps completed (the service sends it to the counterpart)."""
    user, form = await checked_form(request, *OFFICERS)
    step = first(form, "step")
    if not STEP_NAME.fullmatch(step):
        return RedirectResponse(f"/repatriation/{case_id}", status_code=303)
    backbone = context_of(request).backbone
    try:
        await backbone.post(
            user.access_token, "repatriation", f"/cases/{case_id}/steps", step_body(form)
        )
    except ServiceError as refused:
        if refused.status == 404:
            raise
        return await _case_page(
            request,
            user,
            case_id,
            refused_step=step,
            step_form=step_values(form),
            errors=field_errors(request, refused, known=STEP_FIELDS),
            status_code=422,
        )
    return RedirectResponse(f"/repatriation/{case_id}", status_code=303)


@router.post("/repatriation/{case_id}/consent")
async def change_consent(request: Request, case_id: str) -> Response:
    """The person's consent to return withdrawn (no handover while it is) or given again."""
    user, form = await checked_form(request, *CONSENT_CHANGERS)
    backbone = context_of(request).backbone
    try:
        await backbone.post(
            user.access_token, "repatriation", f"/cases/{case_id}/consent", consent_body(form)
        )
    except ServiceError as refused:
        if refused.status == 404:
            raise
        errors = field_errors(request, refused, known=CONSENT_FIELDS)
        # Above the consent form, not the page: the form is what was refused.
        if FORM in errors:
            errors = {"consent": errors[FORM]}
        return await _case_page(
            request,
            user,
            case_id,
            consent_form={name: first(form, name) for name in CONSENT_FIELDS},
            errors=errors,
            status_code=422,
        )
    return RedirectResponse(f"/repatriation/{case_id}", status_code=303)
