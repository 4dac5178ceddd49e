"""Provider organisations entering the registry."""

from __future__ import annotations

from nrm_runtime.auth import Principal
from nrm_runtime.database import Database
from nrm_runtime.errors import Conflict, NotPermitted
from shelter_registry import access
from shelter_registry.context import ShelterRegistryContext
from shelter_registry.schemas.organisations import OrganisationCreate, OrganisationPublic
from shelter_registry.store import Organisation


async def create_organisation(
    database: Database,
    context: ShelterRegistryContext,
    form: OrganisationCreate,
    principal: Principal,
) -> OrganisationPublic:
    """Record a provider organisation: by MOSVY, or by the organisation's own staff."""
    if not (
        access.is_registrar(principal, context.registrar)
        or access.is_owner_staff(principal, form.id)
    ):
        raise NotPermitted("you may record your own organisation only")
    async with database.unit_of_work(actor=principal.actor) as uow:
        if await uow.session.get(Organisation, form.id) is not None:
            raise Conflict(f"organisation {form.id} exists", field="id")
        organisation = Organisation(
            id=form.id, name=form.name, kind=form.kind, created_at=context.clock()
        )
        uow.session.add(organisation)
        await uow.commit()
    return OrganisationPublic.model_validate(organisation, from_attributes=True)
