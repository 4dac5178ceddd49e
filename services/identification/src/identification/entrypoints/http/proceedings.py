"""The prosecution liaison's routes: proceedings records (MOSVY creates them and links
victims' cases) and the status view their investigators and prosecutors read. Every
read is an audited disclosure for the purpose ``legal_proceedings``."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, status

from identification.context import ContextDep
from identification.proceedings import linking, view
from identification.proceedings.access import (
    PROCEEDINGS_CREATE,
    PROCEEDINGS_LINK,
    PROCEEDINGS_LIST,
    PROCEEDINGS_READ,
    PROSECUTION_ROLES,
    sees_all,
)
from identification.proceedings.models import (
    LinkCreate,
    LinkPublic,
    ProceedingsCreate,
    ProceedingsPublic,
    ProceedingsVictims,
)
from nrm_runtime.auth import OrganisationType, Principal, Role, require_roles
from nrm_runtime.errors import NotFound, ProblemError, error_responses
from nrm_runtime.http import DatabaseDep
from nrm_runtime.organisations import OrganisationRegistry

router = APIRouter(prefix="/proceedings", tags=["proceedings"])

Reader = Annotated[Principal, require_roles(*PROSECUTION_ROLES)]


def _authorities(context: ContextDep) -> tuple[str, ...]:
    return context.settings.competent_authority_organisations


def _registrar(
    principal: Annotated[Principal, require_roles(Role.COMPETENT_AUTHORITY)], context: ContextDep
) -> Principal:
    if not sees_all(principal, _authorities(context)):
        raise ProblemError(403, "forbidden", "MOSVY's Competent Authority keeps these records")
    return principal


Registrar = Annotated[Principal, Depends(_registrar)]


def _check_organisation(
    request: Request, organisation_id: str, kind: OrganisationType, field: str
) -> None:
    registry: OrganisationRegistry = request.app.state.organisations
    organisation = registry.get(organisation_id)
    if organisation is None or not organisation.active or organisation.type is not kind:
        raise ProblemError(
            422, "invalid_input", f"not an active {kind} organisation of the registry", field
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProceedingsPublic,
    responses=error_responses(401, 403, 409, 422),
    openapi_extra=PROCEEDINGS_CREATE,
)
async def create_proceedings(
    form: ProceedingsCreate,
    request: Request,
    database: DatabaseDep,
    principal: Registrar,
    context: ContextDep,
) -> ProceedingsPublic:
    """Record a criminal case: its reference, investigating unit and prosecuting office."""
    _check_organisation(
        request,
        form.investigating_organisation,
        OrganisationType.POLICE,
        "investigating_organisation",
    )
    _check_organisation(
        request, form.prosecuting_office, OrganisationType.MINISTRY, "prosecuting_office"
    )
    record = await linking.create_proceedings(database, form, principal, context.clock())
    return view.proceedings_public(record, 0)


@router.get(
    "",
    response_model=list[ProceedingsPublic],
    responses=error_responses(401, 403),
    openapi_extra=PROCEEDINGS_LIST,
)
async def list_proceedings(
    database: DatabaseDep, principal: Reader, context: ContextDep
) -> list[ProceedingsPublic]:
    """The records the caller's organisation investigates or prosecutes (MOSVY: all);
    references and counts, no victim's status."""
    return await view.visible_proceedings(
        database, principal, sees_all=sees_all(principal, _authorities(context))
    )


@router.get(
    "/{proceedings_id}",
    response_model=ProceedingsPublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PROCEEDINGS_READ,
)
async def get_proceedings(
    proceedings_id: UUID, database: DatabaseDep, principal: Reader, context: ContextDep
) -> ProceedingsPublic:
    """One record, with the number of victims' cases the prosecution may see (audited)."""
    return await view.disclosed_proceedings(
        database, proceedings_id, principal, _authorities(context)
    )


@router.get(
    "/{proceedings_id}/victims",
    response_model=ProceedingsVictims,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PROCEEDINGS_READ,
)
async def get_victims(
    proceedings_id: UUID, database: DatabaseDep, principal: Reader, context: ContextDep
) -> ProceedingsVictims:
    """Per linked case: victim status and decision dates, the non-punishment flag,
    in assistance / reintegrated / repatriated (country) / whereabouts unknown, and the
    NRM organisation to contact for testimony. Never where the person is (audited)."""
    return await view.disclosed_victims(database, proceedings_id, principal, _authorities(context))


@router.post(
    "/{proceedings_id}/links",
    status_code=status.HTTP_201_CREATED,
    response_model=LinkPublic,
    responses=error_responses(401, 403, 404, 409, 422),
    openapi_extra=PROCEEDINGS_LINK,
)
async def link_case(
    proceedings_id: UUID,
    form: LinkCreate,
    database: DatabaseDep,
    principal: Reader,
    context: ContextDep,
) -> LinkPublic:
    """Link a victim's case, on the person's consent to legal_proceedings or a legal
    basis MOSVY accepts."""
    _only_mosvy(principal, context)
    return await linking.link_case(
        database,
        proceedings_id,
        form,
        principal,
        legal_bases=context.settings.proceedings_legal_bases,
        now=context.clock(),
    )


@router.post(
    "/{proceedings_id}/links/{case_id}/unlink",
    response_model=LinkPublic,
    responses=error_responses(401, 403, 404, 422),
    openapi_extra=PROCEEDINGS_LINK,
)
async def unlink_case(
    proceedings_id: UUID,
    case_id: UUID,
    database: DatabaseDep,
    principal: Reader,
    context: ContextDep,
) -> LinkPublic:
    """Remove a case's link: the prosecution side no longer sees it."""
    _only_mosvy(principal, context)
    return await linking.unlink_case(database, proceedings_id, case_id, principal, context.clock())


def _only_mosvy(principal: Principal, context: ContextDep) -> None:
    # 404 for everyone else: another office's staff must not learn the record exists.
    if not sees_all(principal, _authorities(context)):
        raise NotFound("proceedings")
