"""What the routes share: the service's settings, its clock, and the callers' roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from nrm_runtime.auth import Principal, Role, require_roles
from shelter_registry.settings import ShelterRegistrySettings

Clock = Callable[[], datetime]


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
