"""Shelter-registry settings: environment variables prefixed ``SHELTER_REGISTRY_``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import Environment, ServiceSettings


class ShelterRegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHELTER_REGISTRY_")

    service_name: str = "shelter-registry"
    port: int = 8003

    load_reference_data: bool | None = Field(
        default=None,
        description="Load the reference facilities at start (idempotent). Unset: on in dev, "
        "so that `make run` shows a populated registry; off elsewhere.",
    )
    registrar_organisation: str = Field(
        default="mosvy",
        min_length=1,
        description="The organisation whose admins register, suspend and revoke facilities.",
    )
    reservation_hold_hours: float = Field(
        default=48.0, gt=0, description="How long a reservation holds a bed unless released."
    )
    reservation_sweep_seconds: float = Field(
        default=60.0, gt=0, description="How often expired reservations are released."
    )

    @property
    def loads_reference_data(self) -> bool:
        if self.load_reference_data is None:
            return self.environment is Environment.DEV
        return self.load_reference_data
