"""The console's wiring: settings, sessions, the services' client, sign-in, the pages.

``uvicorn console.app:create_app --factory`` (``make run`` starts it on port 8000).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from console.backbone import Backbone, ServiceError, SessionExpired
from console.context import ConsoleContext, context_of
from console.dev_issuer import DevIssuer, dev_issuer_router
from console.oidc import OidcClient
from console.pages import (
    audit,
    decisions,
    inbox,
    pipeline,
    registry,
    repatriation,
    reviews,
    screening,
    signin,
    statistics,
)
from console.pages.guard import SignInRequired, session_of
from console.pages.problems import GENERIC, message_of
from console.pages.rendering import render, words_of
from console.sessions import COOKIE, Session, SessionStore
from console.settings import ConsoleSettings
from nrm_runtime.devtokens import keys_dir

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
UNSESSIONED = ("/static/", "/healthz", "/readyz")
LIVE_SUFFIX = "/changes"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)


def create_app(
    settings: ConsoleSettings | None = None,
    *,
    identity_transport: httpx.AsyncBaseTransport | None = None,
    services_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """The console app; settings from the environment unless given (the transports: for
    tests that answer for the identity provider or the services in-process)."""
    settings = settings or ConsoleSettings()
    http_client = httpx.AsyncClient(
        timeout=settings.service_timeout_seconds, transport=identity_transport
    )
    context = ConsoleContext(
        settings=settings,
        sessions=SessionStore(
            settings.sessions_url,
            idle_seconds=settings.session_idle_minutes * 60,
            lifetime_seconds=settings.session_max_hours * 3600,
        ),
        backbone=Backbone(settings, services_transport),
        oidc=OidcClient(settings, http_client),
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await context.sessions.open()
        yield
        await context.backbone.close()
        await http_client.aclose()
        await context.sessions.close()

    app = FastAPI(
        title="NRM console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.console = context
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for page in (
        signin,
        screening,
        decisions,
        reviews,
        inbox,
        pipeline,
        registry,
        repatriation,
        statistics,
        audit,
    ):
        app.include_router(page.router)
    if settings.uses_dev_issuer:
        app.include_router(
            dev_issuer_router(DevIssuer(settings, settings.dev_keys_dir or keys_dir()))
        )
    install_answers(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, str]:
        return {"status": "ok"}

    @app.middleware("http")
    async def with_session(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """The request's session read before the page and written after it if the page
        changed it: any replica can serve any request, and a restart loses nothing."""
        path = request.url.path
        if path.startswith(UNSESSIONED):
            return await call_next(request)
        sessions = context.sessions
        cookie = request.cookies.get(COOKIE)
        # A live page's stream is no activity: it must not hold an idle session open.
        loaded = await (
            sessions.peek(cookie) if path.endswith(LIVE_SUFFIX) else sessions.get(cookie)
        )
        request.state.session = loaded
        before = loaded.snapshot() if loaded is not None else None
        response = await call_next(request)
        current: Session | None = request.state.session
        if current is not None and (current is not loaded or current.snapshot() != before):
            await sessions.save(current)
        return response

    @app.middleware("http")
    async def security_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "public, max-age=86400"
        else:
            # Pages show personal data: never kept by the browser or a proxy.
            response.headers["Cache-Control"] = "no-store"
        return response

    return app


def install_answers(app: FastAPI) -> None:
    """What the user sees when a page cannot be shown."""

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        return RedirectResponse(f"/signin?back={quote(exc.back_to)}", status_code=303)

    @app.exception_handler(SessionExpired)
    async def _expired(request: Request, exc: SessionExpired) -> Response:
        session = session_of(request)
        if session is not None:
            await context_of(request).sessions.end(session)
        return RedirectResponse(f"/signin?back={quote(request.url.path)}", status_code=303)

    @app.exception_handler(ServiceError)
    async def _refused(request: Request, exc: ServiceError) -> Response:
        status = exc.status if exc.status in (403, 404, 409, 422, 503) else 502
        return render(
            request, "problem.html", {"message": message_of(request, exc)}, status_code=status
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The type only: an exception's text can quote the personal data it failed on.
        log.error("unhandled error", extra={"error": type(exc).__name__})
        words = words_of(request)
        message = words.gettext("The request could not be handled.")
        return render(request, "problem.html", {"message": message}, status_code=500)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        words = words_of(request)
        message = words.gettext(GENERIC.get(exc.status_code, "The request could not be handled."))
        return render(request, "problem.html", {"message": message}, status_code=exc.status_code)
