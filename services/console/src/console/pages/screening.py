"""First responder: the standard screening form, and the presumptive result with its reasons.

The form's field names are the identification API's field paths (``person.sex``), so a
422 naming a field is shown next to that field. A form sent after the session expired is
kept (in the server's memory, for the new session only) and filled in again after
sign-in, so nothing typed is lost.
"""

from __future__ import annotations

import hmac
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.backbone import ServiceError, SessionExpired
from console.context import context_of
from console.i18n import province_codes
from console.pages.guard import check_csrf, session_of, set_session_cookie, signed_in
from console.pages.problems import field_errors
from console.pages.rendering import first, form_of, render
from console.sessions import COOKIE, Session, SignedInUser
from nrm_contracts.events.identification import (
    ConsentBasis,
    EncounterType,
    ExploitationType,
    NeedHint,
    Sex,
)

router = APIRouter(include_in_schema=False)

SCREENER = "screener"
NEW_SCREENING_PATH = "/screenings/new"

SEXES = tuple(Sex)
ENCOUNTERS = tuple(EncounterType)
# The acts' and means' codes are identification's own (not in the contracts): kept here.
ACTS = ("recruitment", "transport", "transfer", "harbouring", "receipt", "sale_or_exchange")
MEANS = (
    "force",
    "threat",
    "abduction",
    "deception_or_false_promises",
    "abuse_of_power_or_vulnerability",
    "debt_bondage",
    "withheld_wages",
    "confiscated_documents",
    "restricted_movement",
    "isolation",
    "payments_to_a_person_in_control",
)
PURPOSES = tuple(ExploitationType)  # identification's Purpose has the same codes
CONSENT_BASES = tuple(ConsentBasis)
NEEDS = tuple(NeedHint)
TEXT_FIELDS = (
    "person.given_name",
    "person.family_name",
    "person.given_name_khmer",
    "person.family_name_khmer",
    "person.birth_date",
    "person.estimated_age",
    "person.nationality",
    "encounter.date",
    "encounter.province_code",
    "encounter.country_code",
    "indicators.purpose_notes",
)


def screening_body(form: dict[str, list[str]]) -> dict[str, Any]:
    """The identification API's ``ScreeningCreate`` from the form (empty fields left out,
    so that the service, not the console, decides what is required)."""

    def text(name: str) -> str | None:
        return first(form, name) or None

    person: dict[str, Any] = {
        key.removeprefix("person."): text(key)
        for key in TEXT_FIELDS
        if key.startswith("person.") and text(key) is not None
    }
    person["sex"] = text("person.sex")
    if "estimated_age" in person:
        age = person["estimated_age"]
        person["estimated_age"] = int(age) if age.isdigit() else age
    encounter = {
        key.removeprefix("encounter."): text(key)
        for key in TEXT_FIELDS
        if key.startswith("encounter.") and text(key) is not None
    }
    encounter["type"] = text("encounter.type")
    indicators: dict[str, Any] = {
        "acts": form.get("indicators.acts", []),
        "means": form.get("indicators.means", []),
        "purposes": form.get("indicators.purposes", []),
    }
    if text("indicators.purpose_notes"):
        indicators["purpose_notes"] = text("indicators.purpose_notes")
    body: dict[str, Any] = {
        "person": person,
        "encounter": encounter,
        "indicators": indicators,
        "needs_hints": form.get("needs_hints", []),
    }
    basis = text("consent.referral")
    if basis:
        body["consents"] = [{"purpose": "referral", "given": True, "basis": basis}]
    return body


def form_values(form: dict[str, list[str]]) -> dict[str, Any]:
    """What the form shows again: each text field's value, each checkbox group's ticks."""
    values: dict[str, Any] = {name: first(form, name) for name in TEXT_FIELDS}
    for name in ("person.sex", "encounter.type", "consent.referral"):
        values[name] = first(form, name)
    for name in ("indicators.acts", "indicators.means", "indicators.purposes", "needs_hints"):
        values[name] = set(form.get(name, []))
    return values


def _form_page(
    request: Request, values: dict[str, Any], errors: dict[str, str], status_code: int = 200
) -> Response:
    return render(
        request,
        "screening_form.html",
        {
            "values": values,
            "errors": errors,
            "sexes": SEXES,
            "encounters": ENCOUNTERS,
            "acts": ACTS,
            "means": MEANS,
            "purposes": PURPOSES,
            "bases": CONSENT_BASES,
            "needs": NEEDS,
            "provinces": province_codes(),
        },
        status_code=status_code,
    )


@router.get(NEW_SCREENING_PATH)
async def new_screening(request: Request) -> Response:
    session, _ = signed_in(request, SCREENER)
    draft, session.draft = session.draft, {}
    values = form_values(draft) if draft else form_values({})
    if not draft:
        values["encounter.date"] = date.today().isoformat()
    return _form_page(request, values, {})


@router.post("/screenings")
async def record_screening(request: Request) -> Response:
    form = await form_of(request)
    session = session_of(request)
    if session is None or session.user is None:
        expired = await context_of(request).sessions.expired(request.cookies.get(COOKIE))
        proven = expired is not None and hmac.compare_digest(first(form, "csrf"), expired.csrf)
        return await _keep_for_after_sign_in(request, form, expired if proven else None)
    check_csrf(session, form)
    user = session.user
    if not user.has(SCREENER):
        return RedirectResponse("/", status_code=303)
    try:
        screening = await _send(request, user, form)
    except SessionExpired:
        return await _keep_for_after_sign_in(request, form, session)
    except ServiceError as refused:
        errors = field_errors(request, refused, known=set(form_values(form)))
        return _form_page(request, form_values(form), errors, status_code=422)
    return render(request, "screening_result.html", {"screening": screening})


async def _send(request: Request, user: SignedInUser, form: dict[str, list[str]]) -> Any:
    backbone = context_of(request).backbone
    return await backbone.post(
        user.access_token, "identification", "/screenings", screening_body(form)
    )


async def _keep_for_after_sign_in(
    request: Request, form: dict[str, list[str]], ended: Session | None
) -> Response:
    """The session (or its token) expired while the form was being filled in: keep what
    was typed for the next session of this browser, and sign in again. ``ended`` is the
    session the form provably came from (its CSRF token matched): without it nothing is
    kept, so that no other site can plant a draft."""
    context = context_of(request)
    session = await context.sessions.new()
    if ended is not None:
        session.draft = {k: v for k, v in form.items() if k != "csrf"}
        await context.sessions.save(session)
        await context.sessions.end(ended)
    response = RedirectResponse(f"/signin?back={NEW_SCREENING_PATH}", status_code=303)
    set_session_cookie(response, request, session)
    return response
