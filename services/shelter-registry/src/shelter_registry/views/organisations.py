"""The provider organisations in the registry, as every authenticated caller sees them."""

from __future__ import annotations

from sqlmodel import col, select

from nrm_runtime.database import Database
from nrm_runtime.errors import NotFound
from shelter_registry.schemas.organisations import OrganisationPublic
from shelter_registry.store import Organisation


async def organisations(database: Database) -> list[OrganisationPublic]:
    """Every provider organisation in the registry, by id."""
    async with database.session() as session:
        found = (await session.exec(select(Organisation).order_by(col(Organisation.id)))).all()
    return [OrganisationPublic.model_validate(o, from_attributes=True) for o in found]


async def organisation(database: Database, organisation_id: str) -> OrganisationPublic:
    """One provider organisation."""
    async with database.session() as session:
        found = await session.get(Organisation, organisation_id)
    if found is None:
        raise NotFound("organisation")
    return OrganisationPublic.model_validate(found, from_attributes=True)
