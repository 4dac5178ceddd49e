"""Who is signed in, and the checks every page and form goes through.

A page for signed-in users calls :func:`signed_in`: without a live session it raises
:class:`SignInRequired`, which the app answers with a redirect to the sign-in page. A form
calls :func:`checked_form`, which refuses a missing or wrong CSRF token with 403.
"""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request
from fastapi.responses import Response

from console.context import context_of
from console.pages.rendering import first, form_of
from console.sessions import COOKIE, Session, SignedInUser


class SignInRequired(Exception):
    """No live session: the user signs in (again), then comes back to ``back_to``."""

    def __init__(self, back_to: str) -> None:
        self.back_to = back_to


def session_of(request: Request) -> Session | None:
    """The live session of the request's cookie (read by the app's session middleware,
    which also writes it back if the page changed it)."""
    session: Session | None = getattr(request.state, "session", None)
    return session


def signed_in(request: Request, *roles: str) -> tuple[Session, SignedInUser]:
    """The session and user; :class:`SignInRequired` if none, 403 without one of ``roles``."""
    session = session_of(request)
    if session is None or session.user is None:
        raise SignInRequired(request.url.path)
    if roles and not session.user.has(*roles):
        raise HTTPException(403, "this page is for another role")
    return session, session.user


def check_csrf(session: Session, form: dict[str, list[str]]) -> None:
    if not hmac.compare_digest(first(form, "csrf").encode(), session.csrf.encode()):
        raise HTTPException(403, "the form's CSRF token is missing or wrong")


async def checked_form(request: Request, *roles: str) -> tuple[SignedInUser, dict[str, list[str]]]:
    """A signed-in user's form, its CSRF token checked."""
    form = await form_of(request)
    session, user = signed_in(request, *roles)
    check_csrf(session, form)
    return user, form


async def form_of_anyone(request: Request) -> dict[str, list[str]]:
    """A form that signed-out users may send too (sign-out, language): its CSRF token is
    checked whenever there is a session."""
    form = await form_of(request)
    session = session_of(request)
    if session is not None:
        check_csrf(session, form)
    return form


def set_session_cookie(response: Response, request: Request, session: Session) -> None:
    settings = context_of(request).settings
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
