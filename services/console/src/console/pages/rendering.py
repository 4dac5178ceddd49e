"""Pages from templates, in the user's language; forms read from the request body."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.i18n import LANGUAGE_COOKIE, LANGUAGES, Words, chosen_language

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
MAX_FORM_BYTES = 64 * 1024


def words_of(request: Request) -> Words:
    return Words(chosen_language(request.cookies.get(LANGUAGE_COOKIE)))


def render(
    request: Request, template: str, values: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """``template`` with ``values``, the user's language, the session's CSRF token."""
    words = words_of(request)
    session = getattr(request.state, "session", None)
    page = TEMPLATES.get_template(template).render(
        {
            "_": words.gettext,
            "label": words.label,
            "date": words.date,
            "number": words.number,
            "answer": words.answer,
            "province": words.province,
            "lang": words.language,
            "languages": LANGUAGES,
            "user": session.user if session is not None else None,
            "csrf": session.csrf if session is not None else "",
            "path": request.url.path,
            **values,
        }
    )
    return HTMLResponse(page, status_code=status_code)


async def form_of(request: Request) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body, every field with all its values."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPException(400, "form is not UTF-8") from None
    return parse_qs(text, keep_blank_values=True)


def first(form: dict[str, list[str]], name: str) -> str:
    """The field's first value, stripped; empty if absent."""
    return (form.get(name) or [""])[0].strip()
