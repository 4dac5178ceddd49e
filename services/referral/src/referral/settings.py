"""Referral settings: environment variables prefixed ``REFERRAL_``."""

import ipaddress
from typing import Self

from pydantic import Field, IPvAnyNetwork, model_validator
from pydantic_settings import SettingsConfigDict

from nrm_runtime.destinations import METADATA_ADDRESSES
from nrm_runtime.settings import Environment, ServiceSettings

# Never a webhook destination in production, allow-list or not: the service itself and
# the cloud's metadata service.
_NEVER_IN_PRODUCTION = (
    ipaddress.ip_network("127.0.0.0/8"),
    ipaddress.ip_network("::1/128"),
    ipaddress.ip_network("0.0.0.0/32"),
    ipaddress.ip_network("::/128"),
    *(ipaddress.ip_network(address) for address in METADATA_ADDRESSES),
)


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
    delivery_give_up_hours: float = Field(
        default=72,
        gt=0,
        description="A notice still undelivered this long after it was written is given up "
        "(dead: kept, counted in nrm_deliveries_dead_total, no longer attempted) until "
        "the provider asks for it again (POST /providers/me/deliveries/{id}/redeliver).",
    )
    webhook_secret_overlap_hours: float = Field(
        default=24,
        ge=0,
        description="After a secret rotation, how long the previous secret still signs "
        "beside the new one (two signatures in webhook-signature).",
    )
    webhook_allowed_networks: tuple[IPvAnyNetwork, ...] = Field(
        default=(),
        description="Networks a webhook may point into although they are not public "
        '(JSON list of CIDRs, e.g. ["10.20.0.0/16"]); empty: public addresses only. '
        "Development and tests list their loopback receivers here; in production "
        "loopback and cloud metadata addresses are refused even when listed.",
    )
    provider_topic_prefix: str = Field(
        default="nrm.referral.provider.",
        description="Per-provider topic: this prefix and the organisation id.",
    )

    @model_validator(mode="after")
    def _no_loopback_webhooks_in_production(self) -> Self:
        if self.environment is Environment.PRODUCTION:
            for network in self.webhook_allowed_networks:
                if any(
                    network.version == never.version and network.overlaps(never)
                    for never in _NEVER_IN_PRODUCTION
                ):
                    raise ValueError(
                        f"webhook_allowed_networks: {network} takes in the service's own "
                        "loopback or a cloud metadata address, refused in production"
                    )
        return self
