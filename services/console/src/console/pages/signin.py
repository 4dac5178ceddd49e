"""Signing in and out, the language switch, and the home page of each role."""

from __future__ import annotations

import logging
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from console.context import context_of
from console.i18n import LANGUAGE_COOKIE, chosen_language
from console.oidc import SignInFailed, pkce_pair
from console.pages.guard import form_of_anyone, session_of, set_session_cookie
from console.pages.rendering import first, render

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)

# Each role's pages, in the order the home page lists them: (path, title msgid).
JOURNEYS: dict[str, list[tuple[str, str]]] = {
    "screener": [("/screenings/new", "New screening")],
    "competent_authority": [
        ("/decisions", "Cases awaiting a decision"),
        ("/pipeline", "Referral pipeline"),
        ("/reviews", "Possible duplicate persons"),
        ("/statistics", "Victims counted"),
    ],
    "case_manager": [
        ("/pipeline", "Referral pipeline"),
        ("/repatriation", "Repatriation cases"),
        ("/registry", "Facilities and free beds"),
    ],
    "provider_staff": [
        ("/inbox", "Referrals to my organisation"),
        ("/registry", "Facilities and free beds"),
    ],
    "analyst": [("/statistics", "Victims counted"), ("/registry", "Facilities and free beds")],
    "auditor": [("/audit", "Audit log")],
    "liaison_officer": [("/repatriation", "Repatriation cases")],
}


def safe_path(value: str | None) -> str:
    """A local path to go back to after sign-in (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


@router.get("/")
async def home(request: Request) -> Response:
    session = session_of(request)
    if session is None or session.user is None:
        return render(request, "welcome.html", {})
    journeys = [j for role in session.user.roles for j in JOURNEYS.get(role, [])]
    return render(request, "home.html", {"journeys": journeys})


@router.get("/signin")
async def sign_in(request: Request, back: str | None = None) -> Response:
    context = context_of(request)
    session = session_of(request)
    if session is None or session.user is not None:
        session = await context.sessions.new()
        request.state.session = session  # saved with its sign-in state after the page
    verifier, challenge = pkce_pair()
    session.signin = {
        "state": secrets.token_urlsafe(24),
        "nonce": secrets.token_urlsafe(24),
        "verifier": verifier,
        "back": safe_path(back),
    }
    try:
        target = await context.oidc.authorization_url(
            session.signin["state"], session.signin["nonce"], challenge
        )
    except SignInFailed as failed:
        log.warning("sign-in unavailable", extra={"reason": str(failed)})
        return render(request, "signin_failed.html", {}, status_code=503)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, session)
    return response


@router.get("/signin/callback")
async def signed_in_callback(
    request: Request, code: str | None = None, state: str | None = None
) -> Response:
    context = context_of(request)
    session = session_of(request)
    expected = session.signin.get("state") if session is not None else None
    if session is None or not expected or not state or not secrets.compare_digest(expected, state):
        return render(request, "signin_failed.html", {}, status_code=400)
    try:
        user = await context.oidc.redeem(
            code or "", session.signin["verifier"], session.signin["nonce"]
        )
    except SignInFailed as failed:
        log.warning("sign-in refused", extra={"reason": str(failed)})
        return render(request, "signin_failed.html", {}, status_code=400)
    back = session.signin.get("back", "/")
    session = await context.sessions.rotate(session)
    session.signin = {}
    session.user = user
    log.info("signed in", extra={"organisation": user.organisation, "roles": list(user.roles)})
    response = RedirectResponse(back, status_code=303)
    set_session_cookie(response, request, session)
    return response


@router.post("/signout")
async def sign_out(request: Request) -> Response:
    await form_of_anyone(request)
    session = session_of(request)
    if session is not None:
        await context_of(request).sessions.end(session)
    return RedirectResponse("/", status_code=303)


@router.post("/language")
async def choose_language(request: Request) -> Response:
    """Switch the interface language (a cookie of its own: it holds nothing personal)."""
    form = await form_of_anyone(request)
    language = chosen_language(first(form, "language"))
    if language != first(form, "language"):
        raise HTTPException(422, "unknown language")
    response = RedirectResponse(safe_path(first(form, "back")), status_code=303)
    response.set_cookie(
        LANGUAGE_COOKIE,
        language,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=context_of(request).settings.secure_cookies,
    )
    return response
