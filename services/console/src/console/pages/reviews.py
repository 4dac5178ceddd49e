"""Competent Authority: the person review queue. Two records the matcher could not decide
on, with the evidence (each field's agreement and weight) and both records side by side;
confirm (one person), reject (two persons), or unlink a record from a person."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from console.backbone import ServiceError
from console.context import context_of
from console.pages.guard import checked_form, signed_in
from console.pages.problems import FORM, message_of
from console.pages.rendering import first, render
from console.sessions import SignedInUser

router = APIRouter(include_in_schema=False)

COMPETENT_AUTHORITY = "competent_authority"
PAIR_DECISIONS = ("confirm", "reject")
# Each compared field of the person, with its title (the screening form's words).
PERSON_FIELDS = {
    "given_name": "Given name (Latin letters)",
    "family_name": "Family name (Latin letters)",
    "given_name_khmer": "Given name (Khmer script)",
    "family_name_khmer": "Family name (Khmer script)",
    "sex": "Sex",
    "birth_date": "Date of birth, if known",
    "estimated_age": "Age (estimated)",
    "nationality": "Nationality",
}


EVIDENCE_TITLES = {"name": "Name", "encounter": "Encounter"}


@router.get("/reviews")
async def queue(request: Request) -> Response:
    _, user = signed_in(request, COMPETENT_AUTHORITY)
    page = await context_of(request).backbone.get(
        user.access_token, "identification", "/persons/review-pairs", limit="100"
    )
    return render(request, "review_queue.html", {"pairs": page["items"]})


async def _pair_page(
    request: Request,
    user: SignedInUser,
    pair_id: str,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    pair = await context_of(request).backbone.get(
        user.access_token, "identification", f"/persons/review-pairs/{pair_id}"
    )
    return render(
        request,
        "review_pair.html",
        {"pair": pair, "rows": compared(pair), "errors": errors},
        status_code=status_code,
    )


def compared(pair: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field of both records side by side with the matcher's evidence on it; then
    the evidence on what is no single field (the whole name, the encounter)."""
    mine, theirs = pair["record_detail"]["person"], pair["candidate_detail"]["person"]
    evidence = pair["evidence"]["fields"]
    rows = [
        {
            "field": field,
            "title": title,
            "record": mine.get(field),
            "candidate": theirs.get(field),
            "evidence": evidence.get(field),
        }
        for field, title in PERSON_FIELDS.items()
    ]
    rows += [
        {
            "field": field,
            "title": EVIDENCE_TITLES.get(field, field),
            "record": None,
            "candidate": None,
            "evidence": found,
        }
        for field, found in evidence.items()
        if field not in PERSON_FIELDS
    ]
    return rows


@router.get("/reviews/{pair_id}")
async def pair_page(request: Request, pair_id: str) -> Response:
    _, user = signed_in(request, COMPETENT_AUTHORITY)
    return await _pair_page(request, user, pair_id, {})


@router.post("/reviews/{pair_id}/{decision}")
async def decide(request: Request, pair_id: str, decision: str) -> Response:
    user, form = await checked_form(request, COMPETENT_AUTHORITY)
    backbone = context_of(request).backbone
    if decision in PAIR_DECISIONS:
        path = f"/persons/review-pairs/{pair_id}/{decision}"
    elif decision == "unlink":
        path = f"/persons/{first(form, 'person_id')}/records/{first(form, 'screening_id')}/unlink"
    else:
        return RedirectResponse(f"/reviews/{pair_id}", status_code=303)
    try:
        await backbone.post(user.access_token, "identification", path)
    except ServiceError as refused:
        errors = {FORM: message_of(request, refused)}
        return await _pair_page(request, user, pair_id, errors, status_code=422)
    return RedirectResponse(f"/reviews/{pair_id}", status_code=303)
