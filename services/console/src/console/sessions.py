"""Sign-in sessions, kept in a small database table: the cookie holds only a random id.

A session holds who signed in (organisation, roles, display name), the token the
services are called with, the CSRF token of its forms, and, while a sign-in is under
way, the OpenID Connect state, nonce and PKCE verifier. No case data: what a page shows
is fetched again for each page. A session ends after ``idle`` without a request, and
after ``lifetime`` at the latest (or when its token expires, whichever comes first).

The table (SQLite by default, PostgreSQL for several replicas) is what lets a session
outlive a restart and be served by any replica without sticky sessions. Rows are keyed
by the SHA-256 of the cookie's id, so that reading the table does not give the ids a
browser presents. The access tokens are in the rows: the table is guarded like the
console's own memory (it is the console's only state), and the tokens are short-lived.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, Text, delete, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

COOKIE = "nrm_console_session"
EXPIRED_KEPT_SECONDS = 4 * 3600
SWEEP_SECONDS = 60.0
# seen_at is written at most this often per session: the idle timeout is in minutes, and
# a write per page view and replica is not needed to keep it.
SEEN_RESOLUTION_SECONDS = 5.0

metadata = MetaData()
sessions_table = Table(
    "console_sessions",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("created_at", Float, nullable=False),
    Column("seen_at", Float, nullable=False, index=True),
    Column("signed_in", Boolean, nullable=False),
    Column("data", Text, nullable=False),
)


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
    ended: bool = field(default=False, compare=False)
    """Set by :meth:`SessionStore.end`: nothing saves it again afterwards."""

    def snapshot(self) -> str:
        """What is stored (its id is the row's key, its end the row's absence)."""
        values = asdict(self)
        del values["id"], values["ended"], values["seen_at"]
        return json.dumps(values, sort_keys=True, ensure_ascii=False)


def session_from(session_id: str, seen_at: float, data: str) -> Session:
    values: dict[str, Any] = json.loads(data)
    user = values.pop("user")
    if user is not None:
        user = SignedInUser(**{**user, "roles": tuple(user["roles"])})
    return Session(id=session_id, seen_at=seen_at, user=user, **values)


def key_of(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def engine_url(url: str) -> str:
    """The async driver's URL: ``sqlite:///path`` and ``postgresql://`` are accepted as
    written in a deployment's settings."""
    parsed = make_url(url)
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class SessionStore:
    """Sessions by id in a table, with idle and absolute timeouts."""

    def __init__(
        self,
        url: str,
        *,
        idle_seconds: float,
        lifetime_seconds: float,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.idle_seconds = idle_seconds
        self.lifetime_seconds = lifetime_seconds
        self._now = now
        self._url = engine_url(url)
        memory = make_url(self._url).database in (None, "", ":memory:")
        self._engine: AsyncEngine = create_async_engine(
            self._url,
            # One connection for an in-memory SQLite database, or each would see its own.
            **({"poolclass": StaticPool} if memory and "sqlite" in self._url else {}),
        )
        self._swept_at = float("-inf")
        self._opened = False

    async def open(self) -> None:
        """Create the table if it is not there (idempotent: every replica may do it)."""
        if self._opened:
            return
        database = make_url(self._url).database
        if "sqlite" in self._url and database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        self._opened = True

    async def close(self) -> None:
        await self._engine.dispose()

    async def new(self) -> Session:
        await self.open()
        moment = self._now()
        session = Session(id=secrets.token_urlsafe(32), created_at=moment, seen_at=moment)
        await self.save(session)
        await self._sweep()
        return session

    async def get(self, session_id: str | None) -> Session | None:
        """The live session of that id, marked as seen now; None if unknown or expired."""
        session = await self._load(session_id)
        if session is None:
            return None
        moment = self._now()
        if not self._alive(session):
            if session.user is not None and session.user.access_token:
                session.user.access_token = ""  # kept only to recognise a late form
                await self.save(session)
            return None
        if moment - session.seen_at >= SEEN_RESOLUTION_SECONDS:
            session.seen_at = moment
            async with self._engine.begin() as connection:
                await connection.execute(
                    sql_update(sessions_table)
                    .where(sessions_table.c.key == key_of(session.id))
                    .values(seen_at=moment)
                )
        return session

    async def peek(self, session_id: str | None) -> Session | None:
        """The live session of that id, without marking it as seen (not user activity)."""
        session = await self._load(session_id)
        return session if session is not None and self._alive(session) else None

    async def expired(self, session_id: str | None) -> Session | None:
        """The signed-in session of that id if it has expired lately (a form sent after
        the timeout proves with its CSRF token that it came from that session)."""
        session = await self._load(session_id)
        if session is None or session.user is None or self._alive(session):
            return None
        return session

    async def rotate(self, session: Session) -> Session:
        """A new id for a session that changes privilege (sign-in): no session fixation."""
        await self._delete(session.id)
        session.id = secrets.token_urlsafe(32)
        session.csrf = secrets.token_urlsafe(32)
        await self.save(session)
        return session

    async def end(self, session: Session) -> None:
        session.ended = True
        await self._delete(session.id)

    async def save(self, session: Session) -> None:
        """Write the session (an update, or an insert for a new id)."""
        if session.ended:
            return
        await self.open()
        values = {
            "created_at": session.created_at,
            "seen_at": session.seen_at,
            "signed_in": session.user is not None,
            "data": session.snapshot(),
        }
        key = key_of(session.id)
        async with self._engine.begin() as connection:
            changed = await connection.execute(
                sql_update(sessions_table).where(sessions_table.c.key == key).values(**values)
            )
            if changed.rowcount == 0:
                await connection.execute(sessions_table.insert().values(key=key, **values))

    async def count(self) -> int:
        async with self._engine.connect() as connection:
            rows = await connection.execute(select(sessions_table.c.key))
            return len(rows.all())

    async def _load(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        await self.open()
        async with self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(sessions_table.c.seen_at, sessions_table.c.data).where(
                        sessions_table.c.key == key_of(session_id)
                    )
                )
            ).first()
        return None if row is None else session_from(session_id, row.seen_at, row.data)

    async def _delete(self, session_id: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(sessions_table).where(sessions_table.c.key == key_of(session_id))
            )

    def _alive(self, session: Session) -> bool:
        moment = self._now()
        if moment - session.seen_at > self.idle_seconds:
            return False
        if moment - session.created_at > self.lifetime_seconds:
            return False
        return session.user is None or moment < session.user.token_expires_at

    async def _sweep(self) -> None:
        """Forget dead sessions, at most once a minute: one never signed in at once; a
        signed-in one a while later, so that a form that arrives late can still be told
        apart from a forged one (see expired)."""
        moment = self._now()
        if moment - self._swept_at < SWEEP_SECONDS:
            return
        self._swept_at = moment
        table = sessions_table.c
        dead = or_(
            table.seen_at < moment - self.idle_seconds,
            table.created_at < moment - self.lifetime_seconds,
        )
        long_dead = or_(
            table.seen_at < moment - self.idle_seconds - EXPIRED_KEPT_SECONDS,
            table.created_at < moment - self.lifetime_seconds - EXPIRED_KEPT_SECONDS,
        )
        async with self._engine.begin() as connection:
            await connection.execute(
                delete(sessions_table).where(or_(~table.signed_in & dead, long_dead))
            )
