"""The four services of the backbone: how to start each, and where it listens by default."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServiceKind:
    """How to start one service: its package (``<module>.app:create_app``) and env prefix."""

    name: str
    module: str
    env_prefix: str
    default_port: int

    @property
    def app_factory(self) -> str:
        return f"{self.module}.app:create_app"


SERVICES = {
    kind.name: kind
    for kind in (
        ServiceKind("identification", "identification", "IDENTIFICATION_", 8001),
        ServiceKind("referral", "referral", "REFERRAL_", 8002),
        ServiceKind("shelter-registry", "shelter_registry", "SHELTER_REGISTRY_", 8003),
        ServiceKind("repatriation", "repatriation", "REPATRIATION_", 8004),
    )
}

CONSOLE = ServiceKind("console", "console", "CONSOLE_", 8000)
"""The web console: a fifth deployable, not a backbone service (no database, no topic)."""
