"""Identification settings: environment variables prefixed ``IDENTIFICATION_``."""

from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import ServiceSettings


class IdentificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTIFICATION_")

    service_name: str = "identification"
    port: int = 8001
