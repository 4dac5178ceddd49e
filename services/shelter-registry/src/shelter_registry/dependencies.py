"""What the routes share: the service's settings, its clock, and the callers' roles."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from nrm_runtime.auth import Principal, Role, require_roles
from nrm_runtime.clock import Clock
from nrm_runtime.policy import Objects, policy
from shelter_registry.settings import ShelterRegistrySettings


def _settings(request: Request) -> ShelterRegistrySettings:
    settings: ShelterRegistrySettings = request.app.state.settings
    return settings


def _now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


SettingsDep = Annotated[ShelterRegistrySettings, Depends(_settings)]
Now = Annotated[datetime, Depends(_now)]

# Any authenticated caller, in any role: the public directory, search and coverage.
Reader = Annotated[
    Principal,
    require_roles(*Role),
]
# Who may change facilities (the object-level rule in access.py decides which ones).
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
