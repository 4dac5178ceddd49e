"""The reference codes served to clients: ``GET /reference/provinces`` and
``/reference/languages`` on every service (the data itself is
:mod:`nrm_runtime.reference_codes`, which imports no web framework, so that a service's
pure rules may use it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.errors import error_responses
from nrm_runtime.policy import Objects, policy
from nrm_runtime.reference_codes import Language, Province, languages, provinces

# Codes, names and borders: no one's data, so every role may read them (a token that
# holds none is refused, 403, as everywhere).
EVERY_ROLE = policy(*Role, objects=Objects.NONE)
AnyRole = Annotated[Principal, require_roles(*Role)]

reference_router = APIRouter(prefix="/reference", tags=["reference"])


@reference_router.get(
    "/provinces",
    response_model=list[Province],
    responses=error_responses(401, 403),
    openapi_extra=EVERY_ROLE,
)
async def list_provinces(principal: AnyRole) -> tuple[Province, ...]:
    """Cambodia's provinces: the codes every ``province_code`` field takes."""
    return provinces()


@reference_router.get(
    "/languages",
    response_model=list[Language],
    responses=error_responses(401, 403),
    openapi_extra=EVERY_ROLE,
)
async def list_languages(principal: AnyRole) -> tuple[Language, ...]:
    """The languages seen among the persons met and the staff who assist them, by ISO
    639-1 code; a ``languages`` field accepts any other ISO 639-1 code as well."""
    return languages()
