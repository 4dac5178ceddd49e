"""What referral's use cases share: the settings, the field encryption keys, the clock,
the resolver of webhook hosts.

Built once by :func:`referral.app.create_app`; the clock is injectable so that tests can
move time (a provider's answer is due within hours, follow-up visits within days), and
the resolver so that they can point a name at any address without a DNS server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Request

from nrm_runtime.clock import Clock, system_clock
from nrm_runtime.destinations import DestinationPolicy, Resolver, resolve_host
from nrm_runtime.field_crypto import KeyRing
from nrm_runtime.settings import Environment
from referral.settings import ReferralSettings


@dataclass(frozen=True)
class ReferralContext:
    settings: ReferralSettings
    keys: KeyRing
    clock: Clock = field(default=system_clock)
    resolve: Resolver = field(default=resolve_host)

    @classmethod
    def load(cls, settings: ReferralSettings, clock: Clock | None = None) -> ReferralContext:
        """Refuses a service without field keys: it seals the person's wishes and notes,
        officers' contacts and providers' webhook secrets."""
        if settings.field_keys_file is None:
            raise ValueError("referral seals personal data: set REFERRAL_FIELD_KEYS_FILE")
        return cls(
            settings=settings,
            keys=KeyRing.load(settings.field_keys_file),
            clock=clock or system_clock,
        )

    @property
    def webhook_destinations(self) -> DestinationPolicy:
        """Where a provider's webhook may point: https in production, public addresses
        unless ``webhook_allowed_networks`` names them."""
        return DestinationPolicy.of(
            production=self.settings.environment == Environment.PRODUCTION,
            allowed_networks=self.settings.webhook_allowed_networks,
        )

    def seal(self, value: str, table: str, record_id: object, column: str) -> str:
        return self.keys.seal(value, table=table, record_id=str(record_id), field=column)

    def open(self, sealed: str | None, table: str, record_id: object, column: str) -> str | None:
        if sealed is None:
            return None
        return self.keys.open(sealed, table=table, record_id=str(record_id), field=column)


def _context(request: Request) -> ReferralContext:
    context: ReferralContext = request.app.state.referral
    return context


ContextDep = Annotated[ReferralContext, Depends(_context)]
