"""Who may see and do what with identification cases."""

from __future__ import annotations

from nrm_runtime.auth import OrganisationType, Principal, Role


def is_competent_authority(principal: Principal, organisations: tuple[str, ...]) -> bool:
    """An officer of the Competent Authority: the role, in one of its organisations."""
    return Role.COMPETENT_AUTHORITY in principal.roles and principal.organisation in organisations


def is_law_enforcement(principal: Principal) -> bool:
    return principal.organisation_type is OrganisationType.POLICE
