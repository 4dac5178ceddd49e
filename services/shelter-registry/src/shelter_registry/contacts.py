"""A facility's contacts, sealed at rest and opened for the directory.

The contacts are an organisation's office phone, e-mail and address, published to every
authenticated caller. They are sealed all the same (``nrm_runtime.field_crypto``): in a
small NGO the office phone is often a staff member's own, and a shelter's address is
where victims sleep, which a copy of the database must not give away. Each value is
bound to its place (the ``facility`` table, the facility's id, the column), so a value
moved onto another facility does not open.

Reading them is not audited: the directory is the registry's public face, read by
every party many times a day, and the contacts are an organisation's points of contact,
not a record about a person; auditing each read would bury the entries that matter (the
reads of victims' data) under routine lookups.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from sqlalchemy import or_, update
from sqlmodel import col, select

from nrm_runtime.database import Database
from nrm_runtime.field_crypto import KeyRing, is_sealed
from shelter_registry.models import ContactsIn, ContactsPublic
from shelter_registry.store import Facility

TABLE = "facility"
COLUMNS = ("contact_phone", "contact_email", "contact_address")


def sealed_contacts(
    keys: KeyRing, facility_id: UUID, contacts: ContactsIn
) -> dict[str, str | None]:
    """The contact columns' values for ``facility_id``: each given contact sealed."""
    given = {
        "contact_phone": contacts.phone,
        "contact_email": contacts.email,
        "contact_address": contacts.address,
    }
    return {
        column: None
        if value is None
        else keys.seal(value, table=TABLE, record_id=str(facility_id), field=column)
        for column, value in given.items()
    }


def opened_contacts(keys: KeyRing, facility: Facility) -> ContactsPublic:
    """The facility's contacts in clear."""

    def _open(column: str) -> str | None:
        sealed: str | None = getattr(facility, column)
        if sealed is None:
            return None
        return keys.open(sealed, table=TABLE, record_id=str(facility.id), field=column)

    return ContactsPublic(
        phone=_open("contact_phone"),
        email=_open("contact_email"),
        address=_open("contact_address"),
    )


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
                column: keys.seal(value, table=TABLE, record_id=str(facility.id), field=column)
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


def _keys(request: Request) -> KeyRing:
    keys: KeyRing = request.app.state.field_keys
    return keys


KeysDep = Annotated[KeyRing, Depends(_keys)]
"""The service's key ring, loaded once at start (``create_app``)."""


def load_keys(path: Path | None) -> KeyRing:
    """The key ring at ``path``; refuses a registry without one (it seals contacts)."""
    if path is None:
        raise ValueError(
            "the shelter registry seals facility contacts: set SHELTER_REGISTRY_FIELD_KEYS_FILE"
        )
    return KeyRing.load(path)
