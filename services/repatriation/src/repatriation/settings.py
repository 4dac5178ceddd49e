"""NRM repatriation settings: environment variables prefixed ``REPATRIATION_``.

``REPATRIATION_COUNTERPARTS`` (JSON) describes each counterpart country: the
organisations that speak for it (today's tokens name an organisation, not its country:
this list is how the service knows that ``vnm-molisa`` is Viet Nam), the endpoint we
send its messages to, and the secret both sides sign requests with. The dev defaults
mirror ``deploy/dev-organisations.yaml``; in production every secret must be set and
every endpoint must be HTTPS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import Environment, ServiceSettings

DEV_SECRET_PREFIX = "dev-only-"


class CounterpartLink(BaseModel):
    """How we know and reach one counterpart country."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    organisations: tuple[str, ...] = Field(
        description="Organisation ids (token `org`) of this country's agencies."
    )
    endpoint: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Where we POST this country's messages; None: they wait in the outbox.",
    )
    secret: SecretStr = Field(description="Shared HMAC-SHA256 key, both directions.")


# Where the dev counterpart simulators listen (``python -m repatriation.simulator``).
DEV_SIMULATOR_PORTS = {"VNM": 8014, "THA": 8015}


def _dev_counterparts() -> dict[str, CounterpartLink]:
    def link(country: str, *organisations: str) -> CounterpartLink:
        port = DEV_SIMULATOR_PORTS.get(country)
        return CounterpartLink(
            organisations=organisations,
            endpoint=f"http://127.0.0.1:{port}/nrm/messages" if port else None,
            secret=SecretStr(f"{DEV_SECRET_PREFIX}{country.lower()}"),
        )

    return {
        "VNM": link("VNM", "vnm-molisa", "vnm-mps"),
        "THA": link("THA", "tha-msdhs"),
        "MYS": link("MYS"),
    }


class RepatriationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REPATRIATION_")

    service_name: str = "repatriation"
    port: int = 8004

    counterparts: dict[str, CounterpartLink] = Field(default_factory=_dev_counterparts)
    repatriation_authorities: frozenset[str] = Field(
        default=frozenset({"mosvy", "mosvy-poipet-transit", "mofaic"}),
        min_length=1,
        description="Organisation ids of the Cambodian ministries (and their units) that "
        "run returns: only their officers see repatriation cases.",
    )
    sop_directories: tuple[Path, ...] = Field(
        default=(), description="Template directories read besides the built-in templates."
    )

    signature_tolerance_seconds: int = Field(default=300, ge=1)
    liaison_timeout_seconds: float = Field(default=10.0, gt=0)
    liaison_poll_seconds: float = Field(default=1.0, gt=0)
    liaison_retry_base_seconds: float = Field(default=1.0, gt=0)
    liaison_retry_max_seconds: float = Field(default=300.0, gt=0)
    deadline_sweep_seconds: float = Field(default=60.0, gt=0)

    @model_validator(mode="after")
    def _counterpart_links_are_sound(self) -> Self:
        owners: dict[str, str] = {}
        for country, link in self.counterparts.items():
            if len(country) != 3 or not country.isupper():
                raise ValueError(f"counterparts: {country!r} is not an ISO alpha-3 code")
            for organisation in link.organisations:
                if organisation in owners:
                    raise ValueError(
                        f"counterparts: {organisation} listed for {owners[organisation]} "
                        f"and {country}"
                    )
                owners[organisation] = country
            if self.environment is Environment.PRODUCTION:
                if link.secret.get_secret_value().startswith(DEV_SECRET_PREFIX):
                    raise ValueError(f"counterparts.{country}.secret: set a real shared secret")
                if link.endpoint is not None and not link.endpoint.startswith("https://"):
                    raise ValueError(f"counterparts.{country}.endpoint: HTTPS is required")
        return self

    def country_of(self, organisation: str) -> str | None:
        """The counterpart country an organisation speaks for; None if it is none's."""
        return next(
            (
                country
                for country, link in self.counterparts.items()
                if organisation in link.organisations
            ),
            None,
        )
