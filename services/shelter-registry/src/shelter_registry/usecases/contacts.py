"""Sealing the contacts a registry from before sealing still holds in clear."""

from __future__ import annotations

from sqlalchemy import or_, update
from sqlmodel import col, select

from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing, is_sealed
from shelter_registry.store import Facility
from shelter_registry.store.sealing import COLUMNS, seal_contact


async def seal_clear_contacts(database: Database, keys: KeyRing) -> int:
    """Seal the contacts still stored in clear (written before contacts were sealed);
    how many values it sealed. A start-up step: idempotent, and cheap for a registry of
    hundreds of facilities."""
    sealed = 0
    async with database.unit_of_work() as uow:
        query = select(Facility).where(
            or_(*(col(getattr(Facility, c)).is_not(None) for c in COLUMNS))
        )
        for facility in (await uow.session.exec(query)).all():
            clear = {
                column: seal_contact(keys, facility.id, column, value)
                for column in COLUMNS
                if (value := getattr(facility, column)) is not None and not is_sealed(value)
            }
            if clear:
                await uow.session.exec(
                    update(Facility).where(col(Facility.id) == facility.id).values(**clear)
                )
                sealed += len(clear)
        await uow.commit()
    return sealed
