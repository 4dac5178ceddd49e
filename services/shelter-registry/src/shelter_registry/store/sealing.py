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

from uuid import UUID

from nrm_runtime.field_crypto import KeyRing
from shelter_registry.schemas.facilities import ContactsIn, ContactsPublic
from shelter_registry.store.tables import Facility

TABLE = "facility"
COLUMNS = ("contact_phone", "contact_email", "contact_address")


def seal_contact(keys: KeyRing, facility_id: UUID, column: str, value: str) -> str:
    return keys.seal(value, table=TABLE, record_id=str(facility_id), field=column)


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
        column: None if value is None else seal_contact(keys, facility_id, column, value)
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
