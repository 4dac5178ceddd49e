"""What the registry's use cases share: the settings, the field keys that seal facility
contacts, and the clock.

Built once by :func:`shelter_registry.app.create_app`; the clock is injectable so that
tests can move time (a reservation holds a bed for hours, then expires).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from nrm_runtime.clock import Clock, system_clock
from nrm_runtime.field_crypto import KeyRing
from shelter_registry.settings import ShelterRegistrySettings


@dataclass(frozen=True)
class ShelterRegistryContext:
    settings: ShelterRegistrySettings
    keys: KeyRing
    clock: Clock = field(default=system_clock)

    @classmethod
    def load(
        cls, settings: ShelterRegistrySettings, clock: Clock | None = None
    ) -> ShelterRegistryContext:
        """Refuses a registry without field keys: it seals facility contacts."""
        if settings.field_keys_file is None:
            raise ValueError(
                "the shelter registry seals facility contacts: set SHELTER_REGISTRY_FIELD_KEYS_FILE"
            )
        return cls(
            settings=settings,
            keys=KeyRing.load(settings.field_keys_file),
            clock=clock or system_clock,
        )

    @property
    def registrar(self) -> str:
        """The organisation whose admins register, suspend and revoke facilities."""
        return self.settings.registrar_organisation


def _context(request: Request) -> ShelterRegistryContext:
    context: ShelterRegistryContext = request.app.state.shelter_registry
    return context


def _now(request: Request) -> datetime:
    return _context(request).clock()


ContextDep = Annotated[ShelterRegistryContext, Depends(_context)]
Now = Annotated[datetime, Depends(_now)]
"""The time of the request, by the service's clock."""
