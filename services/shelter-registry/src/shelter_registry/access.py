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
"""

from __future__ import annotations

from nrm_runtime.auth import Principal, Role
from nrm_runtime.errors import ProblemError


def is_registrar(principal: Principal, registrar: str) -> bool:
    return principal.organisation == registrar and Role.ADMIN in principal.roles


def is_owner_staff(principal: Principal, organisation_id: str) -> bool:
    return principal.organisation == organisation_id and Role.PROVIDER_STAFF in principal.roles


def require_registrar(principal: Principal, registrar: str) -> None:
    """403 unless the caller is MOSVY's registrar."""
    if not is_registrar(principal, registrar):
        raise ProblemError(
            403, "forbidden", "only MOSVY's registrar registers, suspends or revokes facilities"
        )


def require_maintainer(principal: Principal, organisation_id: str, registrar: str) -> None:
    """403 unless the caller is staff of the owning organisation or MOSVY's registrar."""
    if not (is_owner_staff(principal, organisation_id) or is_registrar(principal, registrar)):
        raise ProblemError(
            403,
            "forbidden",
            "only the owning organisation's staff or MOSVY's registrar may change this facility",
        )


def require_bed_holder(principal: Principal, organisation_id: str, registrar: str) -> None:
    """403 unless the caller may hold a bed: owner staff, or a MOSVY coordinator."""
    coordinator = principal.organisation == registrar and bool(
        {Role.CASE_MANAGER, Role.ADMIN} & principal.roles
    )
    if not (coordinator or is_owner_staff(principal, organisation_id)):
        raise ProblemError(
            403,
            "forbidden",
            "only the owning organisation's staff or MOSVY's coordinators may hold beds here",
        )
