"""Who sees which proceedings record, and the routes' declared policies.

- MOSVY's Competent Authority (the ``competent_authority`` officers of
  ``IDENTIFICATION_COMPETENT_AUTHORITY_ORGANISATIONS``) creates records, links and
  unlinks cases, and sees every record.
- An ``investigator`` sees the records its organisation investigates; a ``prosecutor``
  those its office prosecutes. Nobody else sees any: another court's prosecutor,
  another unit's investigator, an NGO or a foreign agency get 404 (a 403 would confirm
  that the record exists).
"""

from __future__ import annotations

from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from identification.access import is_competent_authority
from identification.proceedings.store import Proceedings
from nrm_runtime.auth import OrganisationType, Principal, Role
from nrm_runtime.errors import NotFound
from nrm_runtime.policy import Objects, policy

_MINISTRY = (OrganisationType.MINISTRY,)
PROSECUTION_ROLES = (Role.INVESTIGATOR, Role.PROSECUTOR, Role.COMPETENT_AUTHORITY)

PROCEEDINGS_CREATE = policy(
    Role.COMPETENT_AUTHORITY, objects=Objects.NONE, organisation_types=_MINISTRY
)
"""MOSVY records a criminal case (a reference and organisations, no person): audited."""
PROCEEDINGS_LIST = policy(*PROSECUTION_ROLES, objects=Objects.NONE)
"""The records the caller's organisation investigates or prosecutes (MOSVY: all)."""
PROCEEDINGS_READ = policy(*PROSECUTION_ROLES, objects=Objects.OWN_ORGANISATION, personal_data=True)
"""A record and the status of its victims: a disclosure for legal proceedings, audited."""
PROCEEDINGS_LINK = policy(
    Role.COMPETENT_AUTHORITY, objects=Objects.ANY, personal_data=True, organisation_types=_MINISTRY
)
"""MOSVY links or unlinks a victim's case: audited."""


def sees_all(principal: Principal, authorities: tuple[str, ...]) -> bool:
    return is_competent_authority(principal, authorities)


def may_see(principal: Principal, proceedings: Proceedings, authorities: tuple[str, ...]) -> bool:
    """The Competent Authority; the investigating unit's investigators; the prosecuting
    office's prosecutors."""
    if sees_all(principal, authorities):
        return True
    organisation, roles = principal.organisation, principal.roles
    return (
        Role.INVESTIGATOR in roles and organisation == proceedings.investigating_organisation
    ) or (Role.PROSECUTOR in roles and organisation == proceedings.prosecuting_office)


async def asked_about(
    session: AsyncSession, proceedings_id: UUID, principal: Principal, authorities: tuple[str, ...]
) -> Proceedings:
    """The proceedings record a non-punishment check names, if the caller may see it;
    404 otherwise (as for every proceedings route)."""
    record = await session.get(Proceedings, proceedings_id)
    if record is None or not may_see(principal, record, authorities):
        raise NotFound("proceedings")
    return record
