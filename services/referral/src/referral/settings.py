"""Referral settings: environment variables prefixed ``REFERRAL_``."""

from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRAL_")

    service_name: str = "referral"
    port: int = 8002
