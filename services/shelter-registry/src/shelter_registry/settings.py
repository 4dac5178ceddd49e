"""NRM shelter registry settings: environment variables prefixed ``SHELTER_REGISTRY_``."""

from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import ServiceSettings


class ShelterRegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SHELTER_REGISTRY_")

    service_name: str = "shelter-registry"
    port: int = 8003
