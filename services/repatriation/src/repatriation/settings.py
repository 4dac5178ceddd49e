"""NRM repatriation settings: environment variables prefixed ``REPATRIATION_``."""

from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import ServiceSettings


class RepatriationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPATRIATION_")

    service_name: str = "repatriation"
    port: int = 8004
