"""Identification settings: environment variables prefixed ``IDENTIFICATION_``."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from nrm_runtime.settings import ServiceSettings


class IdentificationSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IDENTIFICATION_")

    service_name: str = "identification"
    port: int = 8001

    competent_authority_organisations: tuple[str, ...] = Field(
        default=("mosvy",),
        description="Organisations whose competent_authority officers decide and see all cases",
    )
    preliminary_decision_working_days: int = Field(default=5, ge=1)
    final_decision_days: int = Field(default=45, ge=1)
    recovery_period_days: int = Field(default=30, ge=30)
    deadline_watch_seconds: float = Field(default=60.0, gt=0)
    pending_link_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often screenings recorded during a legacy import are linked",
    )
    statistics_min_cell: int = Field(
        default=5,
        ge=1,
        description="Statistics cells with fewer persons or records than this are suppressed",
    )
    proceedings_legal_bases: tuple[str, ...] = Field(
        default=("court_order", "investigating_judge_warrant"),
        description="Legal bases MOSVY accepts, instead of the person's consent, for "
        "linking a case to a criminal case's proceedings record (codes)",
    )
