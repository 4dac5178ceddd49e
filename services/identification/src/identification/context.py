"""What identification's routes need beside the runtime: its settings, deadline policy,
clock and field encryption keys, set once by ``create_app`` on ``app.state.identification``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from identification.domain.deadlines import DeadlinePolicy
from identification.settings import IdentificationSettings
from nrm_runtime.clock import Clock
from nrm_runtime.field_crypto import KeyRing


@dataclass(frozen=True)
class IdentificationContext:
    settings: IdentificationSettings
    policy: DeadlinePolicy
    clock: Clock
    keys: KeyRing


def _context(request: Request) -> IdentificationContext:
    context: IdentificationContext = request.app.state.identification
    return context


ContextDep = Annotated[IdentificationContext, Depends(_context)]
