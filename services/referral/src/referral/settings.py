"""Referral settings: environment variables prefixed ``REFERRAL_``."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import ServiceSettings


class ReferralSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REFERRAL_")

    service_name: str = "referral"
    port: int = 8002
    coordination_organisations: frozenset[str] = Field(
        default=frozenset({"mosvy", "mosvy-poipet-transit"}),
        min_length=1,
        description="Organisation ids of the NRM coordination (MOSVY and its units): only "
        "their case managers and Competent Authority officers see and run referral cases.",
    )
    provider_answer_hours: float = Field(
        default=48, gt=0, description="How long a provider has to accept or decline."
    )
    deadline_sweep_seconds: float = Field(
        default=60, gt=0, description="How often overdue answers are looked for."
    )
    follow_up_days: list[int] = Field(
        default=[30, 90, 180], description="Follow-up visits after reintegration, in days."
    )
    delivery_poll_seconds: float = Field(default=1.0, gt=0)
    delivery_timeout_seconds: float = Field(
        default=5.0, gt=0, description="A webhook endpoint slower than this counts as failed."
    )
    delivery_retry_base_seconds: float = Field(default=2.0, gt=0)
    delivery_retry_max_seconds: float = Field(default=600.0, gt=0)
    delivery_concurrency: int = Field(default=20, ge=1)
    provider_topic_prefix: str = Field(
        default="nrm.referral.provider.",
        description="Per-provider topic: this prefix and the organisation id.",
    )
