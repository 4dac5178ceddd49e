"""Who may see and act on what: the NRM coordination (the case managers and Competent
Authority officers of MOSVY and its units, setting ``coordination_organisations``) sees
every referral; a provider sees only the referrals addressed to its organisation, once
sent, and never learns of the others; another ministry's officers see none (a ministry's
analysts get the gap report's counts)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends
from sqlmodel.ext.asyncio.session import AsyncSession

from nrm_runtime.auth import OrganisationType, Principal, Role, require_roles
from nrm_runtime.errors import NotFound, ProblemError
from nrm_runtime.policy import Objects, policy
from referral.context import ContextDep, ReferralContext
from referral.domain.lifecycle import VISIBLE_TO_PROVIDER, Action, Party, ReferralState
from referral.store import Referral, ReferralCase


async def _coordinator(
    principal: Annotated[Principal, require_roles(Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY)],
    context: ContextDep,
) -> Principal:
    if not in_coordination(principal, context.settings.coordination_organisations):
        raise ProblemError(403, "forbidden", "only the NRM coordination (MOSVY) may do this")
    return principal


Coordinator = Annotated[Principal, Depends(_coordinator)]
"""A case manager or Competent Authority officer of the NRM coordination."""
Analyst = Annotated[
    Principal, require_roles(Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY, Role.ANALYST)
]
ProviderStaff = Annotated[Principal, require_roles(Role.PROVIDER_STAFF)]
AnyParty = Annotated[
    Principal, require_roles(Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY, Role.PROVIDER_STAFF)
]

# Each route's declared policy (nrm_runtime.policy), next to the roles it admits.
_COORDINATORS = (Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY)
_MINISTRY = (OrganisationType.MINISTRY,)
_PARTIES = (*_COORDINATORS, Role.PROVIDER_STAFF)
COORDINATION_LIST = policy(*_COORDINATORS, objects=Objects.NONE, organisation_types=_MINISTRY)
"""Lists for the NRM coordination (MOSVY's officers): every case, no person's data."""
COORDINATION_CASE = policy(*_COORDINATORS, objects=Objects.ANY, organisation_types=_MINISTRY)
"""A case, its matching and referrals: the coordination acts on every case."""
COORDINATION_PERSON = policy(
    *_COORDINATORS, objects=Objects.ANY, personal_data=True, organisation_types=_MINISTRY
)
"""The person's needs assessment (wishes, notes): the coordination, audited."""
GAP_REPORT = policy(
    *_COORDINATORS, Role.ANALYST, objects=Objects.NONE, organisation_types=_MINISTRY
)
"""Counts only: the coordination and the ministries' analysts."""
PARTY_READ = policy(*_PARTIES, objects=Objects.OWN_ORGANISATION)
"""A referral: the provider it is addressed to (once sent), or the coordination."""
PARTY_CHANGE = policy(*_PARTIES, objects=Objects.OWN_ORGANISATION, personal_data=True)
"""Moving a referral on or recording a visit: where the person goes, how they fare."""
PROVIDER_OWN = policy(Role.PROVIDER_STAFF, objects=Objects.NONE)
"""The caller's organisation's own settings and delivery log (no person's data)."""
PROVIDER_FEED = policy(Role.PROVIDER_STAFF, objects=Objects.NONE, personal_data=True)
"""The referrals addressed to the caller's organisation: the person's profile, audited."""
PROVIDER_REFERRAL = policy(
    Role.PROVIDER_STAFF, objects=Objects.OWN_ORGANISATION, personal_data=True
)
"""One referral addressed to the caller's organisation, or the person's details once
accepted with consent to data sharing: audited."""


def is_ministry(principal: Principal) -> bool:
    return principal.organisation_type is OrganisationType.MINISTRY


def require_ministry(principal: Principal) -> None:
    if not is_ministry(principal):
        raise ProblemError(403, "forbidden", "only the NRM coordination (a ministry) may do this")


def in_coordination(principal: Principal, coordination: frozenset[str]) -> bool:
    """Whether the caller acts for the NRM coordination: a case manager or Competent
    Authority officer of one of the ``coordination`` organisations."""
    return principal.organisation in coordination and bool(
        principal.roles & {Role.CASE_MANAGER, Role.COMPETENT_AUTHORITY}
    )


async def coordination_case(session: AsyncSession, case_id: UUID) -> ReferralCase:
    """The case for a :data:`Coordinator`; 404 when there is none."""
    case = await session.get(ReferralCase, case_id)
    if case is None:
        raise NotFound("referral case")
    return case


def provider_may_see(principal: Principal, referral: Referral) -> bool:
    return (
        Role.PROVIDER_STAFF in principal.roles
        and principal.organisation == referral.organisation_id
        and ReferralState(referral.state) in VISIBLE_TO_PROVIDER
    )


async def visible_referral(
    session: AsyncSession, principal: Principal, referral_id: UUID, context: ReferralContext
) -> Referral:
    """The referral if the caller may see it (the coordination, or the provider it is
    addressed to); 404 otherwise (never confirm it exists)."""
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("referral")
    if in_coordination(principal, context.settings.coordination_organisations):
        return referral
    if provider_may_see(principal, referral):
        return referral
    raise NotFound("referral")


async def addressed_referral(
    session: AsyncSession, principal: Principal, referral_id: UUID
) -> Referral:
    """The referral if it is addressed to the caller's organisation and sent; 404 otherwise.

    The provider's routes (``/providers/me``) serve the addressee only: a coordinator who
    also holds ``provider_staff`` reads referrals through the coordination's routes.
    """
    referral = await session.get(Referral, referral_id)
    if referral is None or not provider_may_see(principal, referral):
        raise NotFound("referral")
    return referral


def party_of(principal: Principal, referral: Referral, action: Action) -> Party:
    """In which capacity the caller acts: the addressed provider, MOSVY signing off, or
    the coordinator. Others never reach here (:func:`visible_referral`)."""
    if provider_may_see(principal, referral):
        return Party.PROVIDER
    if action is Action.SIGN_OFF and Role.COMPETENT_AUTHORITY in principal.roles:
        return Party.SIGNING_OFFICER
    if Role.CASE_MANAGER in principal.roles:
        return Party.COORDINATOR
    if Role.COMPETENT_AUTHORITY in principal.roles:
        return Party.SIGNING_OFFICER
    return Party.PROVIDER
