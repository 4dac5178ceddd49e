"""What the use cases share: the settings, the SOP library, the calendar, the field
encryption keys and the clock.

Built once by :func:`repatriation.app.create_app`; the clock is injectable so that tests
can move time (deadlines are clocks in working days).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from nrm_runtime.clock import Clock, system_clock
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.working_days import WorkingCalendar, cambodian_calendar
from repatriation.domain.sop import SopLibrary
from repatriation.settings import RepatriationSettings


@dataclass(frozen=True)
class Repatriation:
    settings: RepatriationSettings
    library: SopLibrary
    calendar: WorkingCalendar
    keys: KeyRing
    clock: Clock = field(default=system_clock)

    @classmethod
    def load(cls, settings: RepatriationSettings, clock: Clock | None = None) -> Repatriation:
        """Read the SOP templates, the Cambodian working-day calendar and the field
        encryption keys; refuses an invalid template file and a service without keys (it
        holds the person's names)."""
        if settings.field_keys_file is None:
            raise ValueError("repatriation seals personal data: set REPATRIATION_FIELD_KEYS_FILE")
        return cls(
            settings=settings,
            library=SopLibrary.load(settings.sop_directories),
            calendar=cambodian_calendar(),
            keys=KeyRing.load(settings.field_keys_file),
            clock=clock or system_clock,
        )


def _context(request: Request) -> Repatriation:
    context: Repatriation = request.app.state.repatriation
    return context


RepatriationDep = Annotated[Repatriation, Depends(_context)]
