"""A service's refusal shown where the user can act on it, in the user's language.

A 422 names the field (``person.estimated_age``); the forms use the same names, so the
message goes next to that field. The services write their messages in English: the
catalogue translates those it knows, and any other is shown under a translated heading.
"""

from __future__ import annotations

import re

from fastapi import Request

from console.backbone import ServiceError
from console.pages.rendering import words_of

FORM = "_form"
"""The key of an error about the form as a whole (shown above it)."""

GENERIC = {
    403: "You may not do this.",
    404: "Not found, or not yours to see.",
    409: "This is not possible in the current state.",
    422: "Please check this value.",
    503: "The service is unavailable; try again shortly.",
}

# Fields the services name that the forms show under another name.
FIELD_ALIASES = {
    "consents": "consent.referral",
    "consents.0.basis": "consent.referral",
    "consents.0": "consent.referral",
    "encounter": "encounter.province_code",
    "person": "person.given_name",
}


def message_of(request: Request, refused: ServiceError) -> str:
    """The service's message in the user's language (the catalogue's, if it has it)."""
    words = words_of(request)
    if refused.status in (404, 503):
        # The same words whatever the service: "not yours" and "not there" look alike.
        return words.gettext(GENERIC[refused.status])
    translated = words.gettext(refused.message)
    if translated != refused.message or words.language == "en":
        return translated
    generic = GENERIC.get(refused.status, "The service refused the request.")
    return f"{words.gettext(generic)} ({refused.message})"


def field_errors(request: Request, refused: ServiceError, known: set[str]) -> dict[str, str]:
    """``{form field: message}``; a refusal of no known field goes under :data:`FORM`."""
    # "documents[0]" (the services' list index) -> "documents.0", then the group.
    field = re.sub(r"\[(\d+)\]", r".\1", refused.field or "")
    field = FIELD_ALIASES.get(field, field)
    if field not in known:
        # "indicators.acts.0" -> "indicators.acts": the group of checkboxes.
        field = next((name for name in known if field.startswith(f"{name}.")), FORM)
    return {field: message_of(request, refused)}
