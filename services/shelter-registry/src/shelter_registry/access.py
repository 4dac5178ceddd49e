"""Who may do what in the registry.

* **MOSVY's registrar**: callers of the registrar organisation (setting
  ``registrar_organisation``, default ``mosvy``) in the ``admin`` role. They record
  organisations, register, suspend and revoke facilities with a reason, record
  inspections, and may correct any facility.
* **Provider staff**: callers in the ``provider_staff`` role maintain their own
  organisation's facilities only: details, beds, admissions, discharges, reservations.
  Another organisation's staff get 403 (the directory is public, so the facility's
  existence is no secret) and never change a registration status.
* **NRM coordinators**: MOSVY callers in ``case_manager`` hold and release beds for
  accepted referrals (reservations) in any registered facility.
* **Everyone authenticated** reads the public directory, the search and the coverage.
  A shelter's whereabouts (street address, coordinates, distance) are the exception:
  victims sleep there, and a trafficker who learns where a shelter is can wait at its
  door. Only those who bring or send a person there see them (:func:`sees_whereabouts`).
"""

from __future__ import annotations

from typing import Annotated

from nrm_contracts.events.shelter_registry import FacilityType
from nrm_runtime.auth import OrganisationType, Principal, Role, require_roles
from nrm_runtime.errors import NotPermitted
from nrm_runtime.policy import Objects, policy

# Any authenticated caller, in any role: the public directory, search and coverage.
Reader = Annotated[Principal, require_roles(*Role)]
# Who may change facilities (the object-level rules below decide which ones).
Maintainer = Annotated[Principal, require_roles(Role.PROVIDER_STAFF, Role.ADMIN)]
Registrar = Annotated[Principal, require_roles(Role.ADMIN)]
BedHolder = Annotated[Principal, require_roles(Role.PROVIDER_STAFF, Role.CASE_MANAGER, Role.ADMIN)]


# Each route's declared policy (nrm_runtime.policy), next to the roles it admits.
PUBLIC_READ = policy(*Role, objects=Objects.ANY)
"""The public directory: every authenticated caller, every facility; no person's data."""
NEW_RECORD = policy(Role.PROVIDER_STAFF, Role.ADMIN, objects=Objects.NONE)
"""A new organisation or facility (the registrar's, or a provider's own)."""
OWNER_CHANGE = policy(Role.PROVIDER_STAFF, Role.ADMIN, objects=Objects.OWN_ORGANISATION)
"""The owning organisation's staff (or MOSVY's registrar) maintain a facility."""
OWNER_READ = policy(*Role, objects=Objects.OWN_ORGANISATION)
"""Beds, reservations and stays of a facility: its owner and MOSVY only."""
REGISTRAR_DECISION = policy(Role.ADMIN, objects=Objects.OWN_ORGANISATION)
"""Registration and inspections: MOSVY's registrar only (any facility)."""
BED_HOLDING = policy(
    Role.PROVIDER_STAFF, Role.CASE_MANAGER, Role.ADMIN, objects=Objects.OWN_ORGANISATION
)
"""Holding a bed: the owner's staff, or MOSVY's coordinators (any facility)."""


def is_registrar(principal: Principal, registrar: str) -> bool:
    return principal.organisation == registrar and Role.ADMIN in principal.roles


def is_owner_staff(principal: Principal, organisation_id: str) -> bool:
    return principal.organisation == organisation_id and Role.PROVIDER_STAFF in principal.roles


HOUSING = frozenset({FacilityType.RESIDENTIAL_SHELTER, FacilityType.TRANSIT_CENTRE})
"""Facilities where persons stay the night: their whereabouts are withheld."""
_REGISTRAR_ROLES = frozenset({Role.ADMIN, Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY})
# Case managers of Cambodian ministries, NGOs and international organisations (IOM)
# accompany persons to shelters; police screeners hand them over to a case manager,
# foreign agencies work through MOSVY, analysts and auditors need no address.
_ACCOMPANYING_TYPES = frozenset(
    {OrganisationType.MINISTRY, OrganisationType.NGO, OrganisationType.INTERNATIONAL}
)


def sees_whereabouts(
    principal: Principal, facility_type: FacilityType, owner: str, registrar: str
) -> bool:
    """Whether the caller may see where a facility is: always for a facility where no
    one stays; for a shelter or transit centre, its own organisation, MOSVY's registrar
    and coordinators, and the case managers who accompany persons there."""
    if facility_type not in HOUSING or principal.organisation == owner:
        return True
    if principal.organisation == registrar:
        return principal.has_any_role(_REGISTRAR_ROLES)
    return (
        Role.CASE_MANAGER in principal.roles and principal.organisation_type in _ACCOMPANYING_TYPES
    )


def require_registrar(principal: Principal, registrar: str) -> None:
    """403 unless the caller is MOSVY's registrar."""
    if not is_registrar(principal, registrar):
        raise NotPermitted("only MOSVY's registrar registers, suspends or revokes facilities")


def require_maintainer(principal: Principal, organisation_id: str, registrar: str) -> None:
    """403 unless the caller is staff of the owning organisation or MOSVY's registrar."""
    if not (is_owner_staff(principal, organisation_id) or is_registrar(principal, registrar)):
        raise NotPermitted(
            "only the owning organisation's staff or MOSVY's registrar may change this facility",
        )


def require_bed_holder(principal: Principal, organisation_id: str, registrar: str) -> None:
    """403 unless the caller may hold a bed: owner staff, or a MOSVY coordinator."""
    coordinator = principal.organisation == registrar and bool(
        {Role.CASE_MANAGER, Role.ADMIN} & principal.roles
    )
    if not (coordinator or is_owner_staff(principal, organisation_id)):
        raise NotPermitted(
            "only the owning organisation's staff or MOSVY's coordinators may hold beds here",
        )


def require_owner_or_mosvy(principal: Principal, owner: str, registrar: str) -> None:
    """403 unless the caller is of the owning organisation or MOSVY: a facility's beds,
    reservations and stays are theirs to see."""
    if principal.organisation not in (owner, registrar):
        raise NotPermitted("only the owning organisation and MOSVY see the facility's beds")
