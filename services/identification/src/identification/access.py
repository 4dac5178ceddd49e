"""Who may see and do what with identification cases, and each route's declared policy
(nrm_runtime.policy): declared here, in one place, and next to each route.

- A screener (any first responder: police, NGO, ministry) records screenings and sees
  its own organisation's screenings and the cases it screened, no other's.
- The Competent Authority (MOSVY: the ``competent_authority`` officers of the
  organisations in ``IDENTIFICATION_COMPETENT_AUTHORITY_ORGANISATIONS``) sees every
  case, decides, and reviews the person index.
- Law enforcement (an officer of a police organisation) asks the non-punishment check.
- An analyst gets counts only (``/statistics``); an auditor the audit log only.

Denials for an object of another organisation answer 404: a 403 would confirm that it
exists.
"""

from __future__ import annotations

from nrm_runtime.auth import OrganisationType, Principal, Role
from nrm_runtime.policy import Objects, policy

_RECORDERS = (Role.SCREENER, Role.COMPETENT_AUTHORITY)
_MINISTRY = (OrganisationType.MINISTRY,)
LAW_ENFORCEMENT_ROLES = frozenset(
    {Role.SCREENER, Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY, Role.INVESTIGATOR}
)
"""A police organisation's officers who meet persons (not its analysts or auditors)."""

NEW_SCREENING = policy(Role.SCREENER, objects=Objects.NONE, personal_data=True)
"""A first responder records a screening (the person's names, notes): audited."""
SCREENING_READ = policy(*_RECORDERS, objects=Objects.OWN_ORGANISATION, personal_data=True)
"""A screening: to the organisation that recorded it, or the Competent Authority."""
CASE_LIST = policy(*_RECORDERS, objects=Objects.NONE)
"""Cases without names or notes: a screener's organisation its own, MOSVY all."""
CASE_READ = policy(*_RECORDERS, objects=Objects.OWN_ORGANISATION, personal_data=True)
"""A case with its decisions' grounds (free text about the person): audited."""
CONSENT_CHANGE = policy(*_RECORDERS, objects=Objects.OWN_ORGANISATION, personal_data=True)
"""The person's consent, given, refused or withdrawn: audited."""
DECISION = policy(
    Role.COMPETENT_AUTHORITY,
    objects=Objects.ANY,
    personal_data=True,
    organisation_types=_MINISTRY,
)
"""The Competent Authority decides on every case, with its grounds: audited."""
NON_PUNISHMENT_CHECK = policy(
    *LAW_ENFORCEMENT_ROLES,
    objects=Objects.NONE,
    personal_data=True,
    organisation_types=(OrganisationType.POLICE, *_MINISTRY),
)
"""Law enforcement, or the Competent Authority, asks by name: audited."""
INDEX_LIST = policy(Role.COMPETENT_AUTHORITY, objects=Objects.NONE, organisation_types=_MINISTRY)
"""The review queue: ids, scores and evidence levels, no names."""
INDEX_IDS = policy(Role.COMPETENT_AUTHORITY, objects=Objects.ANY, organisation_types=_MINISTRY)
"""A person's link history: ids only."""
INDEX_PERSON = policy(
    Role.COMPETENT_AUTHORITY, objects=Objects.ANY, personal_data=True, organisation_types=_MINISTRY
)
"""A person's or a pair's records side by side, or a change of who is who: audited."""
COUNTS = policy(Role.ANALYST, Role.COMPETENT_AUTHORITY, objects=Objects.NONE)
"""Counts only, small cells suppressed: never a name or an id of a person."""


def is_competent_authority(principal: Principal, organisations: tuple[str, ...]) -> bool:
    """An officer of the Competent Authority: the role, in one of its organisations."""
    return Role.COMPETENT_AUTHORITY in principal.roles and principal.organisation in organisations


def is_law_enforcement(principal: Principal) -> bool:
    """An officer of a police organisation who meets persons (see LAW_ENFORCEMENT_ROLES)."""
    return principal.organisation_type is OrganisationType.POLICE and bool(
        principal.roles & LAW_ENFORCEMENT_ROLES
    )
