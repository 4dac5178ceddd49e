"""Search for referral and the coverage report, as the API gives them."""

from __future__ import annotations

from pydantic import BaseModel, Field

from nrm_contracts.events.referral import PopulationGroup
from nrm_contracts.events.shelter_registry import SupportService
from shelter_registry.schemas.facilities import FacilityPublic


class SearchResult(BaseModel):
    facility: FacilityPublic
    fit: int = Field(
        description="Fit points: free bed now 2, for the sex only 1, for children only (a child) 1."
    )
    distance_km: float | None = Field(description="From the person's province capital.")
    reasons: list[str] = Field(description="Why this facility fits, in words.")


class SearchResults(BaseModel):
    items: list[SearchResult]


class CoverageCell(BaseModel):
    group: PopulationGroup
    province_code: str | None
    province_name: str | None
    facilities: int
    residential_facilities: int
    beds_total: int
    beds_free: int
    services: list[SupportService]


class CoverageGap(BaseModel):
    kind: str = Field(description="no_residential_provider or no_provider_in_province")
    group: PopulationGroup
    province_code: str | None
    message: str


class CoverageReport(BaseModel):
    """Beds and services by population group nationally and by province, and the gaps."""

    national: list[CoverageCell]
    provinces: list[CoverageCell]
    gaps: list[CoverageGap]
