"""Sign-in sessions, kept in the console's memory: the cookie holds only a random id.

A session holds who signed in (organisation, roles, display name), the token the
services are called with, the CSRF token of its forms, and, while a sign-in is under
way, the OpenID Connect state, nonce and PKCE verifier. No case data: what a page shows
is fetched again for each page. A session ends after ``idle`` without a request, and
after ``lifetime`` at the latest (or when its token expires, whichever comes first).

One process keeps its own sessions: a restart signs everybody out, and several replicas
need sticky sessions (a shared store is left for when the console is scaled out).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "nrm_console_session"
EXPIRED_KEPT_SECONDS = 4 * 3600
SWEEP_SECONDS = 60.0


@dataclass
class SignedInUser:
    subject: str
    organisation: str
    organisation_type: str
    roles: tuple[str, ...]
    access_token: str
    token_expires_at: float

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


@dataclass
class Session:
    id: str
    created_at: float
    seen_at: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    user: SignedInUser | None = None
    signin: dict[str, str] = field(default_factory=dict)
    """state, nonce, code_verifier and where to go back to, during a sign-in."""
    draft: dict[str, list[str]] = field(default_factory=dict)
    """A screening form that arrived after the session had expired, kept for the new one."""


class SessionStore:
    """Sessions by id, with idle and absolute timeouts."""

    def __init__(
        self,
        *,
        idle_seconds: float,
        lifetime_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds
        self._now = now
        self._sessions: dict[str, Session] = {}
        self._swept_at = float("-inf")

    def new(self) -> Session:
        moment = self._now()
        session = Session(id=secrets.token_urlsafe(32), created_at=moment, seen_at=moment)
        self._sessions[session.id] = session
        self._sweep()
        return session

    def get(self, session_id: str | None) -> Session | None:
        """The live session of that id, marked as seen now; None if unknown or expired."""
        if not session_id:
            return None
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if not self._alive(session):
            if session.user is not None:
                session.user.access_token = ""  # kept only to recognise a late form
            return None
        session.seen_at = self._now()
        return session

    def peek(self, session_id: str | None) -> Session | None:
        """The live session of that id, without marking it as seen (not user activity)."""
        session = self._sessions.get(session_id or "")
        return session if session is not None and self._alive(session) else None

    def expired(self, session_id: str | None) -> Session | None:
        """The signed-in session of that id if it has expired lately (a form sent after
        the timeout proves with its CSRF token that it came from that session)."""
        session = self._sessions.get(session_id or "")
        if session is None or session.user is None or self._alive(session):
            return None
        return session

    def rotate(self, session: Session) -> Session:
        """A new id for a session that changes privilege (sign-in): no session fixation."""
        self._sessions.pop(session.id, None)
        session.id = secrets.token_urlsafe(32)
        session.csrf = secrets.token_urlsafe(32)
        self._sessions[session.id] = session
        return session

    def end(self, session: Session) -> None:
        self._sessions.pop(session.id, None)

    def _alive(self, session: Session) -> bool:
        moment = self._now()
        if moment - session.seen_at > self.idle_seconds:
            return False
        if moment - session.created_at > self.lifetime_seconds:
            return False
        return session.user is None or moment < session.user.token_expires_at

    def _sweep(self) -> None:
        """Forget dead sessions, at most once a minute: one never signed in at once; a
        signed-in one a while later, so that a form that arrives late can still be told
        apart from a forged one (see expired)."""
        moment = self._now()
        if moment - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = moment
        for session in list(self._sessions.values()):
            if self._alive(session):
                continue
            if (
                session.user is None
                or moment - session.seen_at > self.idle_seconds + EXPIRED_KEPT_SECONDS
            ):
                self._sessions.pop(session.id, None)

    def __len__(self) -> int:
        return len(self._sessions)
